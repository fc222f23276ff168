"""The requirements ``func.yaml`` names: a file (``requirements.txt`` by default,
optional) read as pip reads it."""

from __future__ import annotations

import re
from pathlib import Path

REQUIREMENTS_FILE = "requirements.txt"
_COMMENT = re.compile(r"(^|\s+)#.*$")  # pip's rule: file:lib#egg=lib keeps its fragment


def requirement_file_lines(text: str) -> list[str]:
    """The lines of a pip requirements file as pip reads them.

    ``\\``-continued lines are joined; comments (``#`` at the start or after blanks)
    and blank lines are dropped.
    """
    lines, pending = [], ""
    for raw in text.splitlines():
        line = f"{pending} {raw}" if _COMMENT.match(raw) else pending + raw
        if line.endswith("\\") and not _COMMENT.match(raw):
            pending = line[:-1]
            continue
        lines.append(line)
        pending = ""
    stripped = (_COMMENT.sub("", line).strip() for line in [*lines, pending])
    return [line for line in stripped if line]


def requirements_file(directory: Path, name: str) -> Path | None:
    """The file ``requirements`` names; ``None`` when the default one is absent.

    The default ``requirements.txt`` is optional (a function may need nothing); any
    other name is a promise that the file exists, so its absence is an error.
    """
    path = directory / name
    if path.is_file():
        return path
    if path.is_dir():
        raise ValueError(f"{name} is a directory, not a requirements file")
    if name == REQUIREMENTS_FILE:
        return None
    raise ValueError(f"requirements file {name} not found in {directory}")
