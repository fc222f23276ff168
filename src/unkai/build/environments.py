"""Cached Python environments for a function's requirements.

A function runs on Unkai's own interpreter, with its requirements installed into a
directory that is put first on ``PYTHONPATH``. The directory is named by the hash of
the requirement lines and the interpreter version, so an unchanged function reuses it
and starts without touching pip (the inner loop stays under a second), and two
functions with the same requirements share one. Installation goes to a temporary
directory renamed into place at the end, so an interrupted install never leaves a
half-filled environment behind. pip reads its usual configuration (``PIP_INDEX_URL``,
``PIP_FIND_LINKS``, ``PIP_NO_INDEX``…), which is how offline and mirrored installs work.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from unkai.api import locations


class RequirementsError(RuntimeError):
    """pip could not install the requirements; the message carries pip's own words."""


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


def environment_key(requirements: Sequence[str]) -> str:
    """Same requirements on the same interpreter -> same key, whatever their order."""
    lines = sorted({line.strip() for line in requirements if line.strip()})
    interpreter = f"{sys.implementation.name}-{sys.version_info.major}.{sys.version_info.minor}"
    digest = hashlib.sha256("\n".join([interpreter, *lines]).encode()).hexdigest()
    return digest[:24]


def lookup(requirements: Sequence[str], *, root: Path | None = None) -> Environment | None:
    """The ready environment for these requirements, or ``None`` if it must be built."""
    key = environment_key(requirements)
    if not any(line.strip() for line in requirements):
        return Environment(key, None)
    site = (root or locations.cache_dir()) / "envs" / key
    return Environment(key, site) if site.is_dir() else None


def prepare(
    requirements: Sequence[str], *, root: Path | None = None, base_dir: Path | None = None
) -> Environment:
    """Return the environment, installing the requirements first when not cached.

    ``base_dir`` is where relative paths in requirement lines (``./vendor/pkg``) are
    resolved: the function's directory.
    """
    ready = lookup(requirements, root=root)
    if ready is not None:
        return ready
    key = environment_key(requirements)
    envs = (root or locations.cache_dir()) / "envs"
    envs.mkdir(parents=True, exist_ok=True)
    site = envs / key
    staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=envs))
    try:
        _pip_install(requirements, target=staging, cwd=base_dir)
        try:
            staging.rename(site)
        except OSError:
            if not site.is_dir():  # another installer won the race only if site exists
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Environment(key, site)


def _pip_install(requirements: Sequence[str], *, target: Path, cwd: Path | None) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        listing.write("\n".join(requirements) + "\n")
    command = [
        sys.executable,
        *("-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
        *("--target", str(target), "-r", listing.name),
    ]
    try:
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    finally:
        os.unlink(listing.name)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-12:]
        raise RequirementsError(
            "installing the function's requirements failed:\n" + "\n".join(detail)
        )
