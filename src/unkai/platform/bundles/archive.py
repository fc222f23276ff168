"""Function bundles as archives: ``pack`` a directory deterministically, ``extract`` one safely.

**Same files in, same bytes out.** Entries are sorted; owners, times and modes are
normalised (directories 0755, files 0644, or 0755 when the owner may execute them); the
gzip header carries no name and no time. So the sha256 of a bundle names its content,
and deploying an unchanged function uploads nothing new. Caches and tool state
(``__pycache__``, ``.git``, ``.venv``, ``.unkai``, ``*.pyc``) are left out.

**Nothing from an archive lands outside its directory.** An archive comes from the
network, so :func:`extract` accepts only directories, regular files and links that stay
inside: no absolute paths, no ``..``, no devices or FIFOs, nothing written through a
link, and every symbolic link, followed to its end once all is written, must still be
inside. The unpacked stream is bounded by ``max_size``, which stops a gzip bomb while
its headers are read. Every refusal is a :class:`BundleError` naming the entry.
"""

from __future__ import annotations

import gzip
import io
import os
import posixpath
import shutil
import stat
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

SKIPPED_NAMES = frozenset({"__pycache__", ".git", ".venv", ".unkai"})
SKIPPED_SUFFIXES = (".pyc",)


class BundleError(ValueError):
    """The archive (or directory) is not a bundle Unkai accepts; the text says why."""


def pack(directory: Path) -> bytes:
    """The bundle of ``directory``: a deterministic ``tar.gz`` of the function's sources."""
    if not directory.is_dir():
        raise BundleError(f"{directory}: not a directory")
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for relative in sorted(_walk(directory), key=lambda path: path.parts):
            _add(tar, directory, relative)
    return buffer.getvalue()


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
        if path.is_symlink() and not _inside(root, Path(os.path.realpath(path))):
            name = path.relative_to(root).as_posix()
            raise BundleError(f"{name}: symbolic link leads outside the bundle")


def _walk(directory: Path) -> Iterator[PurePosixPath]:
    for parent, dirs, files in os.walk(directory):
        dirs[:] = [name for name in dirs if name not in SKIPPED_NAMES]
        base = PurePosixPath(Path(parent).relative_to(directory).as_posix())
        for name in (*dirs, *files):
            if name not in SKIPPED_NAMES and not name.endswith(SKIPPED_SUFFIXES):
                yield base / name


def _add(tar: tarfile.TarFile, directory: Path, relative: PurePosixPath) -> None:
    path = directory / relative
    mode = path.lstat().st_mode
    info = tarfile.TarInfo(relative.as_posix())
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    if stat.S_ISLNK(mode):
        info.type, info.mode, info.linkname = tarfile.SYMTYPE, 0o777, os.readlink(path)
        if not _inside(directory.resolve(), path.resolve()):
            raise BundleError(f"{relative}: symbolic link leads outside {directory}")
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
            if member.linkname.startswith("/"):
                raise BundleError(f"{name}: symbolic link to an absolute path")
            if _escapes(posixpath.join(posixpath.dirname(name), member.linkname)):
                raise BundleError(f"{name}: symbolic link leads outside the bundle")
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


def _escapes(path: str) -> bool:
    return posixpath.normpath(path).split("/")[0] == ".."


def _inside(root: Path, path: Path) -> bool:
    return path == root or path.is_relative_to(root)
