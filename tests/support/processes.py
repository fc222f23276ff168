"""Finding a platform's instance processes the way a user would, by their environment."""

import psutil


def revision_processes(revision: str, *, data_dir: str | None = None) -> list[psutil.Process]:
    """Running processes (fork-servers, instances) of ``revision``, by their
    ``K_REVISION``; with ``data_dir``, only those of the platform using it (other
    tests may run a revision of the same name)."""
    found = []
    for process in psutil.process_iter():
        try:
            environ = process.environ()
            if process.status() == psutil.STATUS_ZOMBIE:  # exited, not yet reaped
                continue
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        if environ.get("K_REVISION") != revision:
            continue
        if data_dir is None or environ.get("UNKAI_DATA_DIR") == data_dir:
            found.append(process)
    return found
