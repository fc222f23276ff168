"""Which files a bundle leaves out: defaults, then the function's ``.funcignore``.

The rules are gitignore's, in the subset docs/func-yaml.md lists: the last pattern
matching a path decides, so ``!venv/`` brings back a package named ``venv``; a
directory left out takes its contents along; ``func.yaml`` is always kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from unkai.errors import UserError

IGNORE_FILE = ".funcignore"
DEFAULT_IGNORED = (
    # Byproducts of tools: what unkai.build.digests leaves out of a local project's digest.
    *("__pycache__", "*.pyc", "*.egg-info", ".git", ".hg", ".svn", ".tox", ".nox"),
    *(".mypy_cache", ".pytest_cache", ".ruff_cache", ".DS_Store", ".unkai"),
    # Environments: the platform installs the requirements itself.
    *(".venv", "venv", "node_modules"),
)


class IgnoreFileError(UserError, ValueError):
    """The function's ``.funcignore`` cannot be read."""


class Ignore:
    """Which paths a bundle leaves out, by gitignore's rules (the subset in docs/func-yaml.md).

    :data:`DEFAULT_IGNORED` comes first, then the lines of ``.funcignore``; the last
    pattern matching a path decides, so ``!venv/`` brings back a package named ``venv``.
    A directory left out takes its contents along: nothing in it can be brought back
    (as in git). ``func.yaml`` is always kept.
    """

    def __init__(self, lines: Iterable[str]) -> None:
        from unkai.api.funcyaml import FILENAME  # late: pydantic, which `unkai up` idle lacks

        rules = (_rule(line) for line in [*DEFAULT_IGNORED, *lines, f"!/{FILENAME}"])
        self._rules = [rule for rule in rules if rule is not None]

    @classmethod
    def of(cls, directory: Path) -> Ignore:
        """The rules for the function in ``directory``: the defaults and its ``.funcignore``."""
        path = directory / IGNORE_FILE
        try:
            return cls(path.read_text().splitlines() if path.is_file() else [])
        except (OSError, UnicodeError) as error:
            raise IgnoreFileError(f"{IGNORE_FILE}: cannot read it: {error}") from None

    def ignores(self, path: PurePosixPath, *, directory: bool) -> bool:
        """Whether ``path`` (relative to the function, ``/``-separated) stays out."""
        ignored = False
        for rule in self._rules:
            if (directory or not rule.directories_only) and rule.regex.match(path.as_posix()):
                ignored = not rule.negated
        return ignored


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    negated: bool
    directories_only: bool


def _rule(line: str) -> _Rule | None:
    """One ignore-file line as a rule; ``None`` for blank lines and ``#`` comments.

    As in git, a ``/`` at the start or in the middle ties the pattern to the
    function's root; without one it matches a name at any depth.
    """
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    negated = text.startswith("!")
    text = text.removeprefix("!")
    directories_only = text.endswith("/")
    text = text.rstrip("/")
    anchor = "" if "/" in text else "(?:.*/)?"
    regex = re.compile(anchor + _glob(text.lstrip("/")) + r"\Z", re.DOTALL)
    return _Rule(regex, negated, directories_only)


def _glob(pattern: str) -> str:
    """A glob as a regex over ``/``-separated paths: ``*`` and ``?`` match within one
    name, a ``**`` segment any number of directories."""
    segments = pattern.split("/")
    parts = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:.*/)?")
            continue
        glob = "".join({"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char)) for char in segment)
        parts.append(glob if last else glob + "/")
    return "".join(parts)
