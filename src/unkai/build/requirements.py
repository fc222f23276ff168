"""What a function's requirement lines name on disk, and a fingerprint of all of it.

Requirement lines are text, but ``./mylib``, ``-e ../shared``, ``file:vendor/x.whl``,
``-f wheels`` and nested ``-r``/``-c`` files name local content that changes while the
line does not. :func:`fingerprint` covers that content, so an edited local library gets
a fresh environment and two functions with their own ``./mylib`` never share one.
Paths resolve as pip resolves them when run in the function's directory: packages and
``-f`` against that directory, nested ``-r``/``-c`` files against the file naming them.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from unkai.build import digests
from unkai.errors import UserError

_OPTION = re.compile(r"^(?P<option>--[a-z-]+|-[a-zA-Z])(?:=|\s*)(?P<value>.*)$")
_OPTIONS = {"--requirement": "-r", "--constraint": "-c", "--editable": "-e", "--find-links": "-f"}
_NAMED_URL = re.compile(r"^[A-Za-z0-9][\w.-]*\s*(\[[^]]*\])?\s*@\s*(?P<url>\S+)")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_ARCHIVES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar")


class RequirementsError(UserError, RuntimeError):
    """The requirements cannot be installed; the message says why.

    Why: a file they name is missing, they conflict with the runtime's packages, or
    pip failed (then in pip's own words).
    """


def fingerprint(lines: Sequence[str], base_dir: Path) -> str:
    """Digest of the lines (order aside) and of the local content they name."""
    return _digest(lines, base_dir, base_dir, ())


def for_pip(lines: Sequence[str], base_dir: Path) -> list[str]:
    """The lines as pip must see them in a file kept elsewhere: ``-r``/``-c`` absolute."""
    absolute = []
    for line in lines:
        option, target = _reference(line)
        if option in ("-r", "-c") and target is not None:
            line = f"{option} {shlex.quote(str(base_dir / target))}"
        absolute.append(line)
    return absolute


def _digest(lines: Sequence[str], base_dir: Path, origin: Path, including: tuple[Path, ...]) -> str:
    entries = sorted({line.strip() for line in lines if line.strip()})
    digest = hashlib.sha256()
    for line in entries:
        content = _content(line, base_dir, origin, including)
        digest.update(f"{line}\0{content}\n".encode())
    return digest.hexdigest()


def _content(line: str, base_dir: Path, origin: Path, including: tuple[Path, ...]) -> str:
    """Digest of what ``line`` names on disk, ``""`` when it names nothing local.

    ``origin`` is the directory of the file the line is in (the function directory for
    func.yaml's own lines); ``including`` the nested files being read, to stop loops.
    """
    option, target = _reference(line)
    if target is None:
        return ""
    if option in ("-r", "-c"):
        path = (origin / target).resolve()
        if path in including:
            raise RequirementsError(f"{path} includes itself (through {including[-1]})")
        if not path.is_file():
            raise RequirementsError(
                f"requirements file {target} not found ({path}, named by {line!r})"
            )
        from unkai.api.funcyaml import requirement_file_lines  # late: pydantic, off `unkai up`

        nested = requirement_file_lines(path.read_text())
        return _digest(nested, base_dir, path.parent, (*including, path))
    if option == "-f":  # pip tries next to the naming file first, then its working directory
        path = origin / target if (origin / target).exists() else base_dir / target
        return digests.of_path(path) if path.exists() else "absent"
    path = base_dir / target
    if not path.exists():
        raise RequirementsError(f"{target} not found ({path}, named by {line!r})")
    return digests.of_path(path)


def _reference(line: str) -> tuple[str | None, str | None]:
    """The option of ``line`` (``-r``, ``-c``, ``-e``, ``-f``…) and the local path it names.

    Either may be None: a plain requirement has no option; a name, a remote URL or an
    option such as ``-i`` names no local path.
    """
    match = _OPTION.match(line)
    if match is None:
        requirement = line.split(" -", 1)[0]  # pip: per-requirement options follow
        return None, _package_path(requirement, editable=False)
    option = _OPTIONS.get(match["option"], match["option"])
    try:
        values = shlex.split(match["value"])  # as pip splits options
    except ValueError as error:  # an unclosed quote
        raise RequirementsError(f"cannot read {line!r}: {error}") from None
    if option not in ("-r", "-c", "-e", "-f") or not values:
        return option, None
    if option == "-e":
        return option, _package_path(values[0], editable=True)
    return option, _local_path(values[0])


def _package_path(requirement: str, *, editable: bool) -> str | None:
    """The path a package requirement names: ``./lib[extra]``, ``name @ file:…``, a wheel."""
    named = _NAMED_URL.match(requirement)
    if named is not None:
        return _local_path(named["url"])
    if _URL.match(requirement):
        return _local_path(requirement.split("; ", 1)[0])
    path = re.sub(r"\[[^]]*\]$", "", requirement.split(";", 1)[0].strip())
    looks_like_path = "/" in path or path.startswith(".") or path.endswith(_ARCHIVES)
    return path if editable or looks_like_path else None


def _local_path(value: str) -> str | None:
    """``value`` as a path when it is one or a ``file:`` URL; None for other URLs."""
    if not _URL.match(value):
        return value
    parts = urllib.parse.urlsplit(value)
    return urllib.request.url2pathname(parts.path) if parts.scheme.lower() == "file" else None
