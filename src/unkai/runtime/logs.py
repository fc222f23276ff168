"""Structured logs: one JSON object per line on stderr.

Platforms collect a function's stderr line by line, so every event, including a
traceback, must be a single line. A line always has ``time`` (RFC 3339, UTC),
``level``, ``logger`` and ``message``; anything passed as ``extra=`` becomes a field
of its own, and an exception becomes an ``exception`` field holding the traceback.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any, Final

LOGGER_NAME: Final = "unkai.runtime"
# Attributes every LogRecord has; whatever else a record carries came from ``extra=``.
_RECORD_ATTRIBUTES: Final = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",
    "taskName",
}

log = logging.getLogger(LOGGER_NAME)


class JSONFormatter(logging.Formatter):
    """Formats a record as one line of JSON (see the module docstring for fields)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES:
                line[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            line["exception"] = "".join(traceback.format_exception(record.exc_info[1]))
        return json.dumps(line, default=str)


def configure(level: int | str = logging.INFO) -> None:
    """Send every log record of the process to stderr as JSON lines.

    Called by the process entrypoint only: a library does not reconfigure logging.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def _timestamp(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    return moment.replace("+00:00", "Z")
