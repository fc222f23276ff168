"""What a local platform's instances wrote, and what it did with them, for ``unkai logs``.

Instances of ``unkai up`` write to files under its data dir (one per instance, kept
after the instance is gone: see :mod:`unkai.platform.runners.logfiles` for the layout).
The CLI reads them through :class:`ServiceLogs` without knowing that layout, and
without asking the platform (it need not be running). ``tail`` reads a platform's own
log (``unkai up --detach``).

What the platform itself saw of a revision (an instance that could not start, and why:
a requirement that pip could not install, a module that does not load; one that
crashed, with its exit code; a revision it stopped retrying; requests the gateway
ended itself, with 504, 503 (queue full, or at once for a revision in
CrashLoopBackOff) or 502, counted per interval so that a flood of them is a
few lines, not one each: :func:`outcome_lines`) goes into the same folder
as ``platform.log`` (:class:`RevisionEvents`), in the runtime's JSON-lines format, so
that ``unkai logs`` shows it among the function's own lines, in one place.

:func:`readable` turns a line into what a person reads: a JSON record's time, level and
message, its traceback as the multi-line text Python prints, and file names of the
function's bundle copy shortened to the user's own (``func.py``, not
``…/bundles/trees/sha256/…/func.py``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from unkai.platform.runners import logfiles
from unkai.platform.runners.logfiles import LogLine, tail
from unkai.platform.state import PlatformDir

__all__ = [
    "LogLine", "Outcomes", "Readable", "RevisionEvents", "ServiceLogs", "outcome_lines",
    "readable", "tail",
]  # fmt: skip

PLATFORM: Final = "platform"
"""The name (file stem) under which the platform's own lines about a revision appear."""
_BUNDLE_TREE: Final = re.compile(r"(?:/[^\s\"':]+)?/trees/(?:[^\s/\"']+/)*?sha256/[0-9a-f]{64}/")

log = logging.getLogger("unkai.dataplane")


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


@dataclass(frozen=True)
class Readable:
    """One log line as a person reads it; ``time`` and ``level`` are empty for plain
    output (a ``print``), ``detail`` holds a traceback's lines."""

    instance: str
    message: str
    time: str = ""
    level: str = ""
    detail: tuple[str, ...] = ()


def record(line: LogLine) -> dict[str, Any]:
    """The line as a JSON object with its ``instance``: the runtime's record as written,
    or ``{"message": text}`` for plain output (``unkai logs -o json``)."""
    try:
        loaded = json.loads(line.text)
    except ValueError:
        loaded = None
    if not isinstance(loaded, dict) or "message" not in loaded:
        loaded = {"message": line.text}
    return {"instance": line.instance, **loaded}


def readable(line: LogLine) -> Readable:
    """``line`` for people (see the module docstring)."""
    fields = record(line)
    exception = str(fields.get("exception") or "").rstrip("\n")
    return Readable(
        instance=line.instance,
        message=_unbundled(str(fields["message"])),
        time=str(fields.get("time", "")),
        level=str(fields.get("level", "")),
        detail=tuple(_unbundled(exception).splitlines()) if exception else (),
    )


def _unbundled(text: str) -> str:
    return _BUNDLE_TREE.sub("", text)


def event_line(level: str, message: str, *, now: datetime) -> str:
    """A line of ``platform.log``: the runtime's JSON-lines fields, logger ``unkai.platform``."""
    moment = now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    fields = {"time": moment, "level": level, "logger": "unkai.platform", "message": message}
    return json.dumps(fields)


@dataclass(frozen=True)
class RevisionEvents:
    """The platform's own lines about one revision, in ``folder/platform.log`` (the
    revision's log folder)."""

    folder: Path

    def write(self, level: str, message: str, *, now: datetime | None = None) -> None:
        """Append a line; a log that cannot be written is said in the platform's own log
        and does not stop what the data plane was doing."""
        line = event_line(level, message, now=now or datetime.now(UTC))
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with (self.folder / f"{PLATFORM}.log").open("a") as file:
                file.write(line + "\n")
        except OSError as error:
            log.warning("cannot write %s/%s.log: %s", self.folder, PLATFORM, error)


@dataclass(frozen=True)
class Outcomes:
    """How many of a revision's requests the gateway ended itself, ever (its counters)."""

    timeouts: int = 0
    overloads: int = 0
    unavailable: int = 0
    upstream_failures: int = 0


_OUTCOME_TEXTS: Final = (
    ("timeouts", "timed out (504): no response within the revision's timeoutSeconds"),
    ("overloads", "refused (503): every instance busy and the gateway's queue full"),
    ("unavailable", "refused (503): the revision starts no instance (CrashLoopBackOff)"),
    ("upstream_failures", "failed (502): the instance's connection broke before it answered"),
)


def outcome_lines(before: Outcomes, after: Outcomes, *, seconds: float) -> list[str]:
    """What ``platform.log`` says of the requests the gateway ended in ``seconds``."""
    lines = []
    for field, text in _OUTCOME_TEXTS:
        count = getattr(after, field) - getattr(before, field)
        if count > 0:
            noun = "request" if count == 1 else "requests"
            lines.append(f"{count} {noun} {text}, in the last {seconds:g}s")
    return lines
