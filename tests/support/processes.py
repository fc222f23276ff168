"""Finding a platform's instance processes as its operator would: by their process
title, ``unkai zygote NAMESPACE/REVISION BUNDLE`` or ``unkai instance
NAMESPACE/REVISION-ID BUNDLE``
(``zygote.name``), whose bundle lies under the platform's data dir."""

import psutil


def revision_processes(revision: str, *, data_dir: str | None = None) -> list[psutil.Process]:
    """Running processes (zygotes, instances) of ``revision``, by their title; with
    ``data_dir``, only those of the platform using it (other tests may run a revision of
    the same name): the bundle their title names lies under the data dir."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() == psutil.STATUS_ZOMBIE:  # exited, not yet reaped
                continue
            title = " ".join(arg for arg in process.cmdline() if arg)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        match title.split(" ", 3):
            case ["unkai", "zygote", named, bundle]:
                name = named.rpartition("/")[2]
            case ["unkai", "instance", named, bundle]:
                name = named.rpartition("/")[2].rpartition("-")[0]
            case _:
                continue
        if name != revision:
            continue
        if data_dir is None or bundle.startswith(data_dir.rstrip("/") + "/"):
            found.append(process)
    return found
