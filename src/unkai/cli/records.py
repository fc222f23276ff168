"""Run records: which local ``unkai run`` serves which function directory, and how.

One ``unkai run`` at a time may serve a directory: it holds an exclusive lock on the
directory's lock file in the data dir for as long as it runs (the kernel drops the
lock when the process dies, however it dies), and publishes a small JSON record next
to it that ``unkai invoke DIR`` reads: the URL and the signature the running function
has, or why nothing answers now (starting, crashed, a broken edit). A record whose
process is gone (``unkai run`` was killed) is ignored, so ``invoke`` is never sent to
a dead port.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from unkai.api import locations
from unkai.errors import TargetError

STARTING = "it is starting"


@dataclass(frozen=True)
class Record:
    """What ``unkai run`` (process ``pid``) last said about its function: the ``url``
    it answers at and its ``signature``, or (``url`` is ``None``) why it is ``down``."""

    pid: int
    url: str | None = None
    signature: str | None = None
    down: str = ""


class AlreadyRunningError(TargetError):
    """Another ``unkai run`` holds the directory; ``record`` is what it published."""

    def __init__(self, record: Record | None) -> None:
        super().__init__(record)
        self.record = record


class Claim:
    """The right to serve one directory, held until :meth:`release` or the process ends."""

    def __init__(self, directory: Path, lock: int) -> None:
        self._path = _path(directory)
        self._lock = lock

    def publish(self, record: Record) -> None:
        """Replace the record at once: a reader sees the old one or the new one, whole."""
        staging = self._path.with_suffix(".tmp")
        staging.write_text(json.dumps(asdict(record)))
        staging.replace(self._path)

    def release(self) -> None:
        # The lock file stays: were it unlinked, two processes could each lock a
        # different file under the same name.
        self._path.unlink(missing_ok=True)
        os.close(self._lock)


def claim(directory: Path) -> Claim:
    """Take ``directory`` for this process; raises :class:`AlreadyRunningError` if taken."""
    path = _path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock)
        raise AlreadyRunningError(read(directory)) from None
    taken = Claim(directory, lock)
    taken.publish(Record(os.getpid(), down=STARTING))
    return taken


def read(directory: Path) -> Record | None:
    """The live record for ``directory``, or ``None`` when no ``unkai run`` serves it."""
    try:
        record = Record(**json.loads(_path(directory).read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None
    try:
        os.kill(record.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return record


def _path(directory: Path) -> Path:
    key = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    return locations.data_dir() / "runs" / f"{key}.json"
