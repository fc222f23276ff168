"""Finding a platform's instance processes as its operator would: by the revision in
their environment and the platform's data dir on their command line."""

import psutil


def revision_processes(revision: str, *, data_dir: str | None = None) -> list[psutil.Process]:
    """Running processes (fork-servers, instances) of ``revision``, by their
    ``K_REVISION``; with ``data_dir``, only those of the platform using it (other tests
    may run a revision of the same name): their command line names the bundle they run,
    which lies under the data dir. Instances do not inherit the platform's environment,
    so its ``UNKAI_DATA_DIR`` cannot tell them apart."""
    found = []
    for process in psutil.process_iter():
        try:
            environ = process.environ()
            if process.status() == psutil.STATUS_ZOMBIE:  # exited, not yet reaped
                continue
            cmdline = process.cmdline()
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        if environ.get("K_REVISION") != revision:
            continue
        if data_dir is None or any(arg.startswith(data_dir.rstrip("/") + "/") for arg in cmdline):
            found.append(process)
    return found
