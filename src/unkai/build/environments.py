"""Cached Python environments for a function's requirements.

A function runs on Unkai's own interpreter, with its requirements installed into a
directory that is put first on ``PYTHONPATH``. The directory is named by a key over
everything the install depends on: the requirement lines, the content of the local
files and directories they name (``requirements.fingerprint``), the runtime's pinned
versions (``pins``) and the interpreter version. So an unchanged function reuses its
environment and starts without touching pip (the inner loop stays under a second), two
functions with the same requirements share one, and an edited local library, another
function's ``./mylib`` or an upgraded runtime gets a new one. Installation goes to a
temporary directory renamed into place at the end, so an interrupted install never
leaves a half-filled environment behind. pip reads its usual configuration
(``PIP_INDEX_URL``, ``PIP_FIND_LINKS``, ``PIP_NO_INDEX``…), which is how offline and
mirrored installs work.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from unkai.api import locations
from unkai.build import pins, pip, requirements
from unkai.build.requirements import RequirementsError as RequirementsError


@dataclass(frozen=True)
class Environment:
    """Where a function's requirements live (``None`` site: it has none)."""

    key: str
    site: Path | None

    def python_path(self, base: str | None = None) -> str:
        """The ``PYTHONPATH`` to run the function with: this site first, then ``base``."""
        parts = [str(self.site)] if self.site is not None else []
        if base:
            parts.append(base)
        return os.pathsep.join(parts)


def environment_key(lines: Sequence[str], *, base_dir: Path | None = None) -> str:
    """Same requirements and local content, same runtime and interpreter -> same key.

    ``base_dir`` is where relative paths in the lines resolve (default: the working
    directory, as for pip). Raises :class:`RequirementsError` when a file they name is
    missing.
    """
    interpreter = f"{sys.implementation.name}-{sys.version_info.major}.{sys.version_info.minor}"
    content = requirements.fingerprint(lines, base_dir or Path.cwd())
    digest = hashlib.sha256("\n".join([interpreter, *pins.constraints(), content]).encode())
    return digest.hexdigest()[:24]


def lookup(
    lines: Sequence[str], *, root: Path | None = None, base_dir: Path | None = None
) -> Environment | None:
    """The ready environment for these requirements, or ``None`` if it must be built.

    Also ``None`` when the requirements name a missing file: :func:`prepare` says which.
    """
    try:
        return _ready(lines, environment_key(lines, base_dir=base_dir), root)
    except RequirementsError:
        return None


def prepare(
    lines: Sequence[str],
    *,
    root: Path | None = None,
    base_dir: Path | None = None,
    timeout: float = pip.DEFAULT_TIMEOUT,
    cancelled: Callable[[], bool] = lambda: False,
    sandbox: pip.Sandboxing | None = None,
) -> Environment:
    """Return the environment, installing the requirements first when not cached.

    ``base_dir`` is where relative paths in requirement lines (``./vendor/pkg``,
    ``-r more.txt``) are resolved: the function's directory. ``timeout`` and
    ``cancelled`` bound the install, ``sandbox`` confines it (see
    :func:`unkai.build.pip.install`).
    """
    base = base_dir or Path.cwd()
    key = environment_key(lines, base_dir=base)
    ready = _ready(lines, key, root)
    if ready is not None:
        return ready
    envs = (root or locations.cache_dir()) / "envs"
    envs.mkdir(parents=True, exist_ok=True)
    site = envs / key
    staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=envs))
    try:
        pip.install(
            requirements.for_pip(lines, base), target=staging, cwd=base,
            timeout=timeout, cancelled=cancelled, sandbox=sandbox,
        )  # fmt: skip
        pins.remove_runtime_copies(staging)
        try:
            staging.rename(site)
        except OSError:
            if not site.is_dir():  # another installer won the race only if site exists
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Environment(key, site)


def _ready(lines: Sequence[str], key: str, root: Path | None) -> Environment | None:
    if not any(line.strip() for line in lines):
        return Environment(key, None)
    site = (root or locations.cache_dir()) / "envs" / key
    return Environment(key, site) if site.is_dir() else None
