"""Where ``unkai up`` writes its own log: stderr, or (``--detach``) a file kept in bounds.

A detached platform's log is rotated by size (:data:`MAX_BYTES`, :data:`BACKUPS` old
files): a flood of events must not fill the data disk (issue 13 saw 318 MB in a
minute). When the file cannot be written (the disk is full, its directory is gone),
each record goes to stderr instead, and the first such failure says why there: the
log of a platform in trouble is the last thing to lose. The lines are the JSON lines
of :mod:`unkai.runtime.logs`, wherever they go.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Final

from unkai.runtime.logs import JSONFormatter

MAX_BYTES: Final = 10 * 1024 * 1024
BACKUPS: Final = 3


class FallbackFileHandler(RotatingFileHandler):
    """A size-rotated log file whose records go to stderr while it cannot be written."""

    def __init__(self, path: Path, *, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> None:
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self.failing = False

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        if self.failing and self.stream is not None and not self.stream.closed:
            self.failing = False  # it was written: the file works again

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        """``logging`` calls this when writing (or rotating) failed."""
        error = sys.exc_info()[1]
        if not self.failing:
            self.failing = True
            sys.stderr.write(f"cannot write the log file {self.baseFilename}: {error}\n")
        self._drop_unwritten()
        with contextlib.suppress(OSError, ValueError):  # stderr gone too: nowhere to say it
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()

    def _drop_unwritten(self) -> None:
        """Reopen the file, so what could not be flushed is not retried before (and
        mixed into) the next record."""
        stream, self.stream = self.stream, None
        if stream is not None:
            with contextlib.suppress(OSError):  # its buffer could not be flushed: dropped
                stream.close()


def configure(log_file: Path | None, level: int = logging.INFO) -> None:
    """Send every log record of this process to ``log_file`` (rotated, falling back to
    stderr) or, without one, to stderr."""
    handler: logging.Handler
    if log_file is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = FallbackFileHandler(log_file)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
