"""Content digests of the local files and directories that requirements name.

A directory's digest covers each file's path (relative to it) and bytes, except what
builds and tools leave behind: ``__pycache__``, ``*.egg-info``, a top-level ``build``
or ``dist``, VCS and tool caches. pip builds a local project in place, so counting its
byproducts would change the digest after every install and cost the next start a
needless reinstall. A ``build`` package deeper down is source and counts.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

BYPRODUCTS = frozenset(
    {"__pycache__", ".git", ".hg", ".svn", ".venv", ".tox", ".nox"}
    | {".mypy_cache", ".pytest_cache", ".ruff_cache"}
)
TOP_LEVEL_BYPRODUCTS = frozenset({"build", "dist"})


def of_path(path: Path) -> str:
    """Hex digest of a file's bytes, or of a directory's files (see the module doc)."""
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    digest = hashlib.sha256()
    for directory, subdirectories, files in os.walk(path):
        here = Path(directory)
        skipped = BYPRODUCTS | (TOP_LEVEL_BYPRODUCTS if here == path else frozenset())
        subdirectories[:] = sorted(
            name
            for name in subdirectories
            if name not in skipped and not name.endswith(".egg-info")
        )
        for name in sorted(files):
            file = here / name
            if file.suffix == ".pyc" or not file.is_file():
                continue
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()
