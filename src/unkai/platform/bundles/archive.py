"""Function bundles as archives: ``pack`` a directory deterministically, ``extract`` one safely.

**Same files in, same bytes out.** Entries are sorted; owners, times and modes are
normalised (directories 0755, files 0644, or 0755 when the owner may execute them); the
gzip header carries no name and no time. So the sha256 of a bundle names its content,
and deploying an unchanged function uploads nothing new.

**Only what the function needs.** Caches, tool state and other environments
(:data:`DEFAULT_IGNORED`) are left out, and so is whatever the function's
``.funcignore`` names (gitignore-style, see :class:`Ignore` and docs/func-yaml.md).
``func.yaml`` is always in.

**Nothing from an archive lands outside its directory.** An archive comes from the
network, so :func:`extract` accepts only directories, regular files and links that stay
inside: no absolute paths, no ``..``, no devices or FIFOs, nothing written through a
link, and every symbolic link, followed to its end once all is written, must still be
inside. The unpacked stream is bounded by ``max_size``, which stops a gzip bomb while
its headers are read. Every refusal is a :class:`BundleError` naming the entry.
:func:`pack` applies the same link rules, so a function the platform would refuse is
refused before it is uploaded.
"""

from __future__ import annotations

import gzip
import io
import os
import posixpath
import re
import shutil
import stat
import tarfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from unkai.api.funcyaml import FILENAME

IGNORE_FILE = ".funcignore"
DEFAULT_IGNORED = (
    # Byproducts of tools: what unkai.build.digests leaves out of a local project's digest.
    *("__pycache__", "*.pyc", "*.egg-info", ".git", ".hg", ".svn", ".tox", ".nox"),
    *(".mypy_cache", ".pytest_cache", ".ruff_cache", ".DS_Store", ".unkai"),
    # Environments: the platform installs the requirements itself.
    *(".venv", "venv", "node_modules"),
)


class BundleError(ValueError):
    """The archive (or directory) is not a bundle Unkai accepts; the text says why."""


@dataclass(frozen=True)
class Packed:
    """A bundle and what went into it: the user sees it, and limits apply to it."""

    data: bytes
    files: int
    size: int
    """The files' bytes, unpacked."""


class Ignore:
    """Which paths a bundle leaves out, by gitignore's rules (the subset in docs/func-yaml.md).

    :data:`DEFAULT_IGNORED` comes first, then the lines of ``.funcignore``; the last
    pattern matching a path decides, so ``!venv/`` brings back a package named ``venv``.
    A directory left out takes its contents along: nothing in it can be brought back
    (as in git). ``func.yaml`` is always kept.
    """

    def __init__(self, lines: Iterable[str]) -> None:
        rules = (_rule(line) for line in [*DEFAULT_IGNORED, *lines, f"!/{FILENAME}"])
        self._rules = [rule for rule in rules if rule is not None]

    @classmethod
    def of(cls, directory: Path) -> Ignore:
        """The rules for the function in ``directory``: the defaults and its ``.funcignore``."""
        path = directory / IGNORE_FILE
        try:
            return cls(path.read_text().splitlines() if path.is_file() else [])
        except (OSError, UnicodeError) as error:
            raise BundleError(f"{IGNORE_FILE}: cannot read it: {error}") from None

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


def pack(directory: Path) -> bytes:
    """The bundle of ``directory``: a deterministic ``tar.gz`` of the function's sources."""
    return packed(directory).data


def packed(directory: Path) -> Packed:
    """:func:`pack`, also counting the files that went in and their bytes."""
    if not directory.is_dir():
        raise BundleError(f"{directory}: not a directory")
    root = directory.resolve()
    ignore = Ignore.of(root)
    buffer = io.BytesIO()
    files = size = 0
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for relative in sorted(_walk(root, ignore), key=lambda path: path.parts):
            try:
                info = _add(tar, root, relative)
            except OSError as error:
                raise BundleError(f"{relative}: {error.strerror or error}") from None
            if info.isreg():
                files, size = files + 1, size + info.size
    return Packed(buffer.getvalue(), files=files, size=size)


def extract(data: bytes, target: Path, *, max_size: int) -> None:
    """Unpack the bundle ``data`` into the empty directory ``target``, checking every entry."""
    root = target.resolve()
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in _checked(tar, max_size=max_size):
                _write(tar, member, root)
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise BundleError(f"not a gzip-compressed tar archive: {error}") from None
    for path in root.rglob("*"):
        if path.is_symlink():
            _check_resolved(root, path.relative_to(root).as_posix())


def _walk(root: Path, ignore: Ignore) -> Iterator[PurePosixPath]:
    for parent, dirs, files in os.walk(root):
        base = PurePosixPath(Path(parent).relative_to(root).as_posix())
        dirs[:] = [name for name in dirs if not ignore.ignores(base / name, directory=True)]
        yield from (base / name for name in dirs)
        for name in files:
            if not ignore.ignores(base / name, directory=False):
                yield base / name


def _add(tar: tarfile.TarFile, root: Path, relative: PurePosixPath) -> tarfile.TarInfo:
    path = root / relative
    mode = path.lstat().st_mode
    info = tarfile.TarInfo(relative.as_posix())
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    if stat.S_ISLNK(mode):
        info.type, info.mode, info.linkname = tarfile.SYMTYPE, 0o777, os.readlink(path)
        _check_resolved(root, info.name)
        _check_link(info.name, info.linkname)  # the platform reads the text, not the target
        tar.addfile(info)
    elif stat.S_ISDIR(mode):
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
    elif stat.S_ISREG(mode):
        info.mode = 0o755 if mode & stat.S_IXUSR else 0o644
        info.size = path.stat().st_size
        with path.open("rb") as content:
            tar.addfile(info, content)
    else:
        raise BundleError(f"{relative}: only files, directories and links can be bundled")
    return info


def _checked(tar: tarfile.TarFile, *, max_size: int) -> Iterator[tarfile.TarInfo]:
    """The archive's members, each refused unless it is safe to write (module docstring)."""
    for member in tar:
        if tar.offset > max_size:
            raise BundleError(f"bundle unpacks to more than {max_size} bytes")
        name = member.name
        parts = PurePosixPath(name).parts
        if not name or name.startswith("/") or ".." in parts:
            raise BundleError(f"{name!r}: entry names must be relative, without '..'")
        if member.issym():
            _check_link(name, member.linkname)
        elif member.islnk():
            if member.linkname.startswith("/") or _escapes(member.linkname):
                raise BundleError(f"{name}: hard link leads outside the bundle")
        elif not (member.isdir() or member.isreg()):
            raise BundleError(f"{name}: devices, FIFOs and other special files are not allowed")
        yield member


def _write(tar: tarfile.TarFile, member: tarfile.TarInfo, root: Path) -> None:
    path = root / member.name
    if os.path.realpath(path.parent) != str(path.parent) or path.is_symlink():
        raise BundleError(f"{member.name}: would be written through a symbolic link")
    path.parent.mkdir(parents=True, exist_ok=True)
    if member.isdir():
        path.mkdir(exist_ok=True)
    elif path.exists():
        raise BundleError(f"{member.name}: appears twice in the archive")
    elif member.issym():
        path.symlink_to(member.linkname)
    elif member.islnk():
        source = root / posixpath.normpath(member.linkname)
        if not source.is_file() or source.is_symlink():
            raise BundleError(
                f"{member.name}: hard link to {member.linkname}, not a file before it"
            )
        shutil.copyfile(source, path)
    else:
        content = tar.extractfile(member)
        assert content is not None  # a regular file always has content
        with content, path.open("wb") as out:
            shutil.copyfileobj(content, out)
        path.chmod(0o755 if member.mode & stat.S_IXUSR else 0o644)


def _check_link(name: str, target: str) -> None:
    """Refuse the symbolic link ``name`` unless its text, ``target``, stays in the bundle.

    The text is what counts, not where the link points on the packing machine: the
    bundle is unpacked elsewhere, where ``/home/me/fn/data.txt`` or ``../fn/data.txt``
    mean something else. :func:`pack` and :func:`extract` both apply it.
    """
    if target.startswith("/"):
        raise BundleError(f"{name}: symbolic link to an absolute path ({target}); make it relative")
    if _escapes(posixpath.join(posixpath.dirname(name), target)):
        raise BundleError(
            f"{name}: symbolic link leads outside the bundle ({target} climbs above its top)"
        )


def _check_resolved(root: Path, name: str) -> None:
    """Refuse the link ``name`` if, followed to its end (through links), it leaves ``root``."""
    path = root / name
    if not _inside(root, Path(os.path.realpath(path))):
        raise BundleError(f"{name}: symbolic link leads outside the bundle ({os.readlink(path)})")


def _escapes(path: str) -> bool:
    return posixpath.normpath(path).split("/")[0] == ".."


def _inside(root: Path, path: Path) -> bool:
    return path == root or path.is_relative_to(root)
