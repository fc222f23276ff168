"""The content-addressed store of bundles that ``unkai deploy`` uploads.

Layout under the store's root (one namespace's, ``{data dir}/bundles/namespaces/{ns}``:
see :mod:`.namespaces`)::

    blobs/sha256/{hex}.tar.gz    the archive as uploaded
    trees/sha256/{hex}/          the archive unpacked, read-only: what instances run

:meth:`BundleStore.put` checks an archive completely, by unpacking it, before keeping
it, so a bundle in the store is always one that can be run. Both the blob and the tree
are written under a temporary name, synced to disk, and renamed into place (the folder
synced after): a crash, even of the machine, never leaves a half bundle, two uploads of
the same bundle race harmlessly, and a second ``put`` of a bundle already stored costs
one hash. What a crash left under a temporary name is removed by :meth:`BundleStore.clean`
when the platform starts.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Final

from unkai.errors import TargetError
from unkai.platform.bundles.archive import BundleError
from unkai.platform.bundles.extract import extract
from unkai.platform.bundles.reference import DIGEST

DEFAULT_MAX_SIZE: Final = 50 * 2**20
_UNPACKING: Final = ".unpack-"
_UPLOADING: Final = ".upload-"


class BundleNotFoundError(TargetError, LookupError):
    """No bundle with that digest was uploaded to this store."""


class BundleStore:
    """Bundles by digest (``sha256:{hex}``); ``max_size`` bounds archive and unpacked size."""

    def __init__(self, root: Path, *, max_size: int = DEFAULT_MAX_SIZE) -> None:
        self.root = root
        self.max_size = max_size

    def put(self, data: bytes, *, digest: str | None = None) -> str:
        """Check and keep the archive ``data``; return its digest.

        ``digest``, when given, is what the uploader computed; a mismatch means the upload
        was damaged and is refused.
        """
        if len(data) > self.max_size:
            raise BundleError(f"bundle is {len(data)} bytes, more than the limit {self.max_size}")
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if digest is not None and digest != actual:
            raise BundleError(f"bundle digest is {actual}, not {digest} as announced")
        if not self.has(actual):
            self._unpack(actual, data)
            self._write_blob(actual, data)
        return actual

    def has(self, digest: str) -> bool:
        """Whether the bundle was stored (and so can be run)."""
        return self._blob(digest).is_file()

    def path(self, digest: str) -> Path:
        """The read-only directory holding the bundle's files, unpacked on first use."""
        tree = self._tree(digest)
        if not tree.is_dir():
            if not self.has(digest):
                raise BundleNotFoundError(f"no bundle {digest} in {self.root}")
            self._unpack(digest, self._blob(digest).read_bytes())
        return tree

    def clean(self) -> None:
        """Remove what an interrupted ``put`` left under a temporary name. Call it only
        while no ``put`` runs (at start)."""
        for leftover in (self.root / "trees" / "sha256").glob(f"{_UNPACKING}*"):
            remove_tree(leftover)
        for leftover in (self.root / "blobs" / "sha256").glob(f"{_UPLOADING}*"):
            leftover.unlink(missing_ok=True)

    def _unpack(self, digest: str, data: bytes) -> None:
        tree = self._tree(digest)
        if tree.is_dir():
            return
        tree.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=_UNPACKING, dir=tree.parent))
        staging.chmod(0o755)  # like its folders: sandboxed instances run as other users
        try:
            extract(data, staging, max_size=self.max_size)
            _make_read_only(staging)
            _sync_tree(staging)
            try:
                staging.rename(tree)
            except OSError:
                if not tree.is_dir():  # only a concurrent unpack of the same bundle is fine
                    raise
            _sync_directory(tree.parent)
        finally:
            if staging.exists():
                remove_tree(staging)

    def _write_blob(self, digest: str, data: bytes) -> None:
        blob = self._blob(digest)
        blob.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=blob.parent, prefix=_UPLOADING, delete=False) as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(out.name, blob)
        _sync_directory(blob.parent)

    def _blob(self, digest: str) -> Path:
        return self.root / "blobs" / "sha256" / f"{_hex(digest)}.tar.gz"

    def _tree(self, digest: str) -> Path:
        return self.root / "trees" / "sha256" / _hex(digest)


def _hex(digest: str) -> str:
    if not DIGEST.match(digest):
        raise BundleError(f"not a bundle digest: {digest!r} (expected sha256:<64 hex digits>)")
    return digest.removeprefix("sha256:")


def _sync_tree(tree: Path) -> None:
    """Make the files and folders of ``tree`` durable before it is renamed into place."""
    for path in [*tree.rglob("*"), tree]:
        if path.is_symlink():
            continue
        if path.is_dir():
            _sync_directory(path)
        else:
            descriptor = os.open(path, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _make_read_only(tree: Path) -> None:
    for path in [*tree.rglob("*"), tree]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & ~0o222)


def remove_tree(tree: Path) -> None:
    """Remove ``tree``, whose folders a bundle's unpacking made read-only."""
    for path in [tree, *tree.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(tree)
