"""Function bundles as archives: ``pack`` a directory deterministically.

**Same files in, same bytes out.** Entries are sorted; owners, times and modes are
normalised (directories 0755, files 0644, or 0755 when the owner may execute them); the
gzip header carries no name and no time. So the sha256 of a bundle names its content,
and deploying an unchanged function uploads nothing new.

**Only what the function needs.** What :mod:`.ignore` names is left out.

**Refused here as the platform would refuse it.** The link rules (:func:`check_link`,
:func:`check_resolved`) are the ones :mod:`.extract` applies to an uploaded bundle, so
a function the platform would refuse is refused before it is uploaded.
"""

from __future__ import annotations

import gzip
import io
import os
import posixpath
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from unkai.errors import UserError
from unkai.platform.bundles.ignore import Ignore, IgnoreFileError


class BundleError(UserError, ValueError):
    """The archive (or directory) is not a bundle Unkai accepts; the text says why."""


@dataclass(frozen=True)
class Packed:
    """A bundle and what went into it: the user sees it, and limits apply to it."""

    data: bytes
    files: int
    size: int
    """The files' bytes, unpacked."""


def pack(directory: Path) -> bytes:
    """The bundle of ``directory``: a deterministic ``tar.gz`` of the function's sources."""
    return packed(directory).data


def packed(directory: Path) -> Packed:
    """:func:`pack`, also counting the files that went in and their bytes."""
    if not directory.is_dir():
        raise BundleError(f"{directory}: not a directory")
    root = directory.resolve()
    try:
        ignore = Ignore.of(root)
    except IgnoreFileError as error:
        raise BundleError(str(error)) from None
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
        check_resolved(root, info.name)
        check_link(info.name, info.linkname)  # the platform reads the text, not the target
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


def check_link(name: str, target: str) -> None:
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


def check_resolved(root: Path, name: str) -> None:
    """Refuse the link ``name`` if, followed to its end (through links), it leaves ``root``."""
    path = root / name
    if not _inside(root, Path(os.path.realpath(path))):
        raise BundleError(f"{name}: symbolic link leads outside the bundle ({os.readlink(path)})")


def _escapes(path: str) -> bool:
    return posixpath.normpath(path).split("/")[0] == ".."


def _inside(root: Path, path: Path) -> bool:
    return path == root or path.is_relative_to(root)
