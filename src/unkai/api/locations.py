"""Where Unkai keeps things on this machine (XDG base directories).

Data (platform state, run records) and cache (requirement environments) are kept
apart so that wiping the cache never loses state. Both can be moved with environment
variables, which is how tests keep every run in a temporary directory.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """``UNKAI_DATA_DIR``, else ``$XDG_DATA_HOME/unkai``, else ``~/.local/share/unkai``."""
    return _xdg("UNKAI_DATA_DIR", "XDG_DATA_HOME", Path(".local") / "share")


def cache_dir() -> Path:
    """``UNKAI_CACHE_DIR``, else ``$XDG_CACHE_HOME/unkai``, else ``~/.cache/unkai``."""
    return _xdg("UNKAI_CACHE_DIR", "XDG_CACHE_HOME", Path(".cache"))


def _xdg(own: str, xdg: str, fallback: Path) -> Path:
    explicit = os.environ.get(own)
    if explicit:
        return Path(explicit)
    base = os.environ.get(xdg)
    return (Path(base) if base else Path.home() / fallback) / "unkai"


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it carries a token), replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    temporary.replace(path)
