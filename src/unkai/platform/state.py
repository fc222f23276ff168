"""The platform's files in the data dir: token, store, and the record of a running ``up``.

Layout under the data dir (``~/.local/share/unkai`` by default)::

    platform/token          bearer token for the API (0600, created once)
    platform/store.sqlite   every object the API server accepted
    platform/kubeconfig     a kubeconfig for it (server, CA, token; 0600)
    platform/running.json   pid and addresses of the running ``unkai up``
    platform/running.lock   locked (``flock``) by the running ``unkai up`` while it lives
    platform/unkai.log      output of a detached ``unkai up``
    platform/sockets        link to the instances' socket dir, made in the temporary dir
                            (a socket's path must fit in 108 bytes, the data dir's may not)

The token is created with ``O_EXCL`` and mode 0600 in one step, so it is never
readable by others, not even for a moment, and two racing ``up`` commands agree on it.

Whether a platform runs is decided by the lock, not by the pid in the record: the kernel
drops a lock when its holder dies however it dies, while a pid can outlive its process
(a zombie nobody reaps, after ``kill -9`` in a container) or be reused by another one.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from unkai.api import locations
from unkai.errors import TargetError

_SOCKETS_PREFIX = "unkai-sockets-"


@dataclass(frozen=True)
class Running:
    """What ``unkai status``, ``down`` and ``kubeconfig`` need to find a running platform."""

    pid: int
    api_url: str
    gateway_url: str

    def alive(self) -> bool:
        """Whether the process still runs (a zombie, dead but not reaped, does not)."""
        import psutil  # late: a platform that starts normally never asks

        try:
            return psutil.Process(self.pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False


class DataDirInUseError(TargetError, RuntimeError):
    """Another ``unkai up`` holds this data dir."""


@dataclass(frozen=True)
class PlatformDir:
    root: Path

    @classmethod
    def under(cls, data_dir: Path) -> PlatformDir:
        return cls(data_dir / "platform")

    @property
    def store(self) -> Path:
        return self.root / "store.sqlite"

    @property
    def log(self) -> Path:
        return self.root / "unkai.log"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    def write_kubeconfig(self, document: dict[str, Any]) -> None:
        locations.write_private(self.kubeconfig, yaml.safe_dump(document, sort_keys=False))

    @property
    def _token(self) -> Path:
        return self.root / "token"

    @property
    def _running(self) -> Path:
        return self.root / "running.json"

    @property
    def _lock(self) -> Path:
        return self.root / "running.lock"

    @property
    def _sockets(self) -> Path:
        return self.root / "sockets"

    def hold(self) -> int:
        """Take the data dir for this process (until it exits, or :meth:`release`);
        :class:`DataDirInUseError` if a live platform holds it."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(self._lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            running = self.running()
            where = f" (pid {running.pid}) at {running.api_url}" if running else ""
            raise DataDirInUseError(f"already running{where}") from None
        return descriptor

    def clear_leftovers(self) -> None:
        """Remove what a platform that died without stopping (``kill -9``, a crash) left
        outside its store: its running record and its socket dir, which nothing else would
        ever remove. Call it only while holding the data dir: then no owner of theirs lives.
        """
        self._running.unlink(missing_ok=True)
        self._running.with_suffix(".tmp").unlink(missing_ok=True)
        try:
            sockets = self._sockets.readlink()
        except OSError:  # no link: the last platform stopped cleanly, or never made one
            return
        if sockets.name.startswith(_SOCKETS_PREFIX):  # never anything else the link may name
            shutil.rmtree(sockets, ignore_errors=True)
        self._sockets.unlink()

    def socket_dir(self) -> Path:
        """A new directory (mode 0700) for the instances' Unix sockets, linked from the
        data dir so that the next start removes it if this platform dies first."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        directory = Path(tempfile.mkdtemp(prefix=_SOCKETS_PREFIX))
        self._sockets.unlink(missing_ok=True)
        self._sockets.symlink_to(directory)
        return directory

    def release(self, descriptor: int) -> None:
        os.close(descriptor)  # closing drops the lock

    def _held(self) -> bool:
        try:
            descriptor = os.open(self._lock, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(descriptor)
        return False

    def token(self) -> str:
        """The API token, created on first use (owner-only permissions)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            descriptor = os.open(self._token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return self._token.read_text().strip()
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(32) + "\n")
        return self._token.read_text().strip()

    def record_running(self, running: Running) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self._running.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(running)))
        temporary.replace(self._running)

    def running(self) -> Running | None:
        """The running platform, or ``None`` (a record left by a dead one does not count)."""
        try:
            record = Running(**json.loads(self._running.read_text()))
        except (FileNotFoundError, ValueError, TypeError):
            return None
        return record if self._held() and record.alive() else None

    def clear_running(self, pid: int) -> None:
        """Forget the record, if it is still ours (a newer ``up`` may have replaced it)."""
        current = self.running()
        if current is None or current.pid == pid:
            self._running.unlink(missing_ok=True)
