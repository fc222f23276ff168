"""Where instances' output goes, and how ``unkai logs`` reads it back.

Every instance writes stdout and stderr to a file of its own; a revision's files share
a folder, so ``unkai logs NAME [--revision R] [-f]`` finds them without asking the
platform anything::

    {root}/{namespace}/{service}/{revision}/{instance}.log
    {root}/{namespace}/{service}/{revision}/zygote.log     (fork-server: loading the function)

(``{service}`` is the configuration's name for a revision no Service owns.) Files stay
after the instance is gone, so the output of a crash can still be read; the last lines
are also what a crashed instance's condition message quotes (:func:`summary`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from unkai.platform.runners.spec import InstanceSpec

ZYGOTE: Final = "zygote"
_TAIL_BYTES: Final = 64 * 1024


@dataclass(frozen=True)
class LogLine:
    """One line of output and the instance (or ``zygote``) that wrote it."""

    instance: str
    text: str


@dataclass(frozen=True)
class LogFiles:
    """The log folder tree under ``root`` (``{data dir}/logs`` on a platform)."""

    root: Path

    def folder(self, spec: InstanceSpec) -> Path:
        return self.root / spec.namespace / spec.owner / spec.revision

    def instance(self, spec: InstanceSpec, instance_id: str) -> Path:
        """The (created) folder's file for one instance."""
        folder = self.folder(spec)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{instance_id}.log"

    def zygote(self, spec: InstanceSpec) -> Path:
        return self.instance(spec, ZYGOTE)

    def find(self, *, namespace: str, service: str, revision: str | None = None) -> list[Path]:
        """The log files of a service (or one of its revisions), oldest first."""
        pattern = f"{revision or '*'}/*.log"
        paths = (self.root / namespace / service).glob(pattern)
        return sorted(paths, key=lambda path: (path.stat().st_mtime, path.name))


def read(paths: Iterable[Path]) -> Iterator[LogLine]:
    """Every line of each file in turn."""
    for path in paths:
        with path.open(errors="replace") as lines:
            for text in lines:
                yield LogLine(path.stem, text.rstrip("\n"))


async def follow(
    files: LogFiles,
    *,
    namespace: str,
    service: str,
    revision: str | None = None,
    interval: float = 0.25,
) -> AsyncIterator[LogLine]:
    """Lines as they are written, from the beginning, including new instances' files; the
    caller stops by breaking out (``unkai logs -f`` ends on Ctrl+C)."""
    offsets: dict[Path, int] = {}
    partial: dict[Path, str] = {}
    while True:
        for path in files.find(namespace=namespace, service=service, revision=revision):
            with path.open("rb") as handle:
                handle.seek(offsets.get(path, 0))
                chunk = handle.read()
            offsets[path] = offsets.get(path, 0) + len(chunk)
            *complete, rest = (partial.pop(path, "") + chunk.decode(errors="replace")).split("\n")
            if rest:
                partial[path] = rest
            for text in complete:
                yield LogLine(path.stem, text)
        await asyncio.sleep(interval)


def tail(path: Path, lines: int = 20, *, since: int = 0) -> list[str]:
    """The last ``lines`` lines of a log file (none when it does not exist), among those
    written after byte ``since`` (a log appended to by every attempt: this attempt's).

    A log that cannot be read gives one line saying why instead of an error: it is read
    while an instance's exit is handled, and that must go on (take the instance out of
    the gateway, report the crash) whatever became of its log."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(since, size - _TAIL_BYTES))
            text = handle.read().decode(errors="replace")
    except FileNotFoundError:
        return []
    except OSError as error:
        return [f"(the log could not be read: {error.strerror or error})"]
    return text.splitlines()[-lines:]


def summary(lines: Iterable[str]) -> str:
    """Log lines made readable for a condition message: the runtime's JSON lines become
    ``level: message``, with the last line of an exception's traceback."""
    readable = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict) or "message" not in record:
            readable.append(line)
            continue
        text = f"{record.get('level', 'info')}: {record['message']}"
        exception = str(record.get("exception") or "").strip()
        if exception:
            text += f" ({exception.splitlines()[-1]})"
        readable.append(text)
    return "\n".join(readable)
