"""What a local platform's instances wrote, read back for ``unkai logs``.

Instances of ``unkai up`` write to files under its data dir (one per instance, kept
after the instance is gone: see :mod:`unkai.platform.runners.logfiles` for the layout).
The CLI reads them through :class:`ServiceLogs` without knowing that layout, and
without asking the platform (it need not be running). ``tail`` reads a platform's own
log (``unkai up --detach``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from unkai.platform.runners import logfiles
from unkai.platform.runners.logfiles import LogLine, tail
from unkai.platform.state import PlatformDir

__all__ = ["LogLine", "ServiceLogs", "tail"]


@dataclass(frozen=True)
class ServiceLogs:
    """The output of a service's instances (or of one revision's) on the platform whose
    files are ``platform``."""

    platform: PlatformDir
    namespace: str
    service: str
    revision: str | None = None

    @property
    def _files(self) -> logfiles.LogFiles:
        return logfiles.LogFiles(self.platform.root / "logs")

    def _paths(self) -> list[Path]:
        return self._files.find(
            namespace=self.namespace, service=self.service, revision=self.revision
        )

    def exist(self) -> bool:
        """Whether any instance has written (or started writing) a log yet."""
        return bool(self._paths())

    def lines(self) -> Iterator[LogLine]:
        """Every line written so far, file by file, oldest file first."""
        return logfiles.read(self._paths())

    def follow(self) -> AsyncIterator[LogLine]:
        """Every line from the beginning, then new ones as they come, new instances'
        included; the caller stops by breaking out."""
        return logfiles.follow(
            self._files, namespace=self.namespace, service=self.service, revision=self.revision
        )
