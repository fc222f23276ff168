"""Unpacking a bundle that came from the network: nothing lands outside its directory.

Only directories, regular files and symbolic links that stay inside are accepted: no
absolute paths, no ``..``, no devices, FIFOs, hard links or sparse files, nothing
written through a link, and every symbolic link, followed to its end once all is
written, must still be inside. What is written is bounded: the bytes of the files
(a sparse or linked entry cannot make a small archive large on disk, as neither is
accepted), the stream read while headers are parsed (a gzip bomb), the number of entries and how
deep they nest. Every refusal is a :class:`~.archive.BundleError` naming the entry.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import stat
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Final

from unkai.platform.bundles.archive import BundleError, check_link, check_resolved

MAX_ENTRIES: Final = 20_000
MAX_DEPTH: Final = 64
"""Folders an entry may be nested in: far deeper than any source tree, and shallow
enough that walking the tree (making it read-only, syncing it) never runs out of stack."""


def extract(data: bytes, target: Path, *, max_size: int) -> None:
    """Unpack the bundle ``data`` into the empty directory ``target``, checking every entry."""
    root = target.resolve()
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in _checked(tar, max_size=max_size):
                try:
                    _write(tar, member, root)
                except OSError as error:  # a name too long, a file where a directory is…
                    reason = error.strerror or str(error)
                    raise BundleError(f"{member.name}: cannot be written: {reason}") from None
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise BundleError(f"not a gzip-compressed tar archive: {error}") from None
    for path in root.rglob("*"):
        if path.is_symlink():
            check_resolved(root, path.relative_to(root).as_posix())


def _checked(tar: tarfile.TarFile, *, max_size: int) -> Iterator[tarfile.TarInfo]:
    """The archive's members, each refused unless it is safe to write (module docstring)."""
    written = 0
    for count, member in enumerate(tar, start=1):
        if tar.offset > max_size:
            raise BundleError(f"bundle unpacks to more than {max_size} bytes")
        if count > MAX_ENTRIES:
            raise BundleError(f"bundle has more than {MAX_ENTRIES} entries")
        name = member.name
        parts = PurePosixPath(name).parts
        if not name or name.startswith("/") or ".." in parts:
            raise BundleError(f"{name!r}: entry names must be relative, without '..'")
        if len(parts) > MAX_DEPTH:
            raise BundleError(f"{name[:80]}…: nested deeper than {MAX_DEPTH} folders")
        if member.issym():
            check_link(name, member.linkname)
        elif member.islnk():  # unkai deploy never writes one: it packs files as files
            raise BundleError(f"{name}: hard links are not allowed")
        elif member.issparse():
            raise BundleError(f"{name}: sparse files are not allowed")
        elif not (member.isdir() or member.isreg()):
            raise BundleError(f"{name}: devices, FIFOs and other special files are not allowed")
        written += member.size if member.isreg() else 0
        if written > max_size:
            raise BundleError(f"bundle unpacks to more than {max_size} bytes")
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
    else:
        content = tar.extractfile(member)
        assert content is not None  # a regular file always has content
        with content, path.open("wb") as out:
            shutil.copyfileobj(content, out)
        path.chmod(0o755 if member.mode & stat.S_IXUSR else 0o644)
