"""Image layers that come out the same byte for byte from the same files.

A layer is a gzip'd tar. Reproducible means: entries in sorted order, every parent
directory written, modification times fixed (``MTIME``), owner root (0:0) with no user
or group names, modes normalised to 0644/0755 (the executable bit is kept), and a gzip
header without a file name or time. Python's own ``tarfile`` and ``gzip`` do the
writing; only these choices are Unkai's.

Layers are cached by what went into them (:func:`cached`): a key over the inputs names a
small record of the layer's digest, so an unchanged dependency set is neither installed
nor compressed again.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Final

from unkai.build.oci import LAYER, BlobStore, Descriptor

MTIME: Final = 0
LEVEL: Final = 6
"""gzip level: Python's default 9 made the runtime layer 0.7% smaller than 6 but took four
times as long (48 s against 11 s, docs/benchmarks.md)."""
_SKIPPED: Final = frozenset({"__pycache__"})


@dataclass(frozen=True)
class Layer:
    """A layer in the blob store: its descriptor (compressed) and ``diff_id`` (the
    digest of the tar itself, which the image config lists)."""

    descriptor: Descriptor
    diff_id: str

    def to_json(self) -> dict[str, str | int]:
        return {
            "digest": self.descriptor.digest,
            "size": self.descriptor.size,
            "diff_id": self.diff_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, str | int]) -> Layer:
        descriptor = Descriptor(LAYER, str(data["digest"]), int(data["size"]))
        return cls(descriptor, str(data["diff_id"]))


class _Hashing:
    """A write-only stream that hashes what passes through it on its way to ``sink``."""

    def __init__(self, sink: IO[bytes]) -> None:
        self.sink = sink
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self.sink.write(data)

    def flush(self) -> None:
        self.sink.flush()


def from_trees(trees: Iterable[tuple[Path, str]], store: BlobStore) -> Layer:
    """One layer holding each local directory ``Path`` under its image path ``str``
    (``__pycache__`` and ``*.pyc`` left out: they are made at run time)."""
    entries: dict[str, Path | None] = {}
    for source, prefix in trees:
        target = PurePosixPath("/", prefix).relative_to("/")
        for parent in reversed(target.parents[:-1] if target.parts else ()):
            entries.setdefault(str(parent), None)
        if target.parts:
            entries[str(target)] = source
        for directory, subdirectories, files in os.walk(source):
            subdirectories[:] = [name for name in subdirectories if name not in _SKIPPED]
            here = Path(directory)
            for name in [*subdirectories, *files]:
                if name.endswith(".pyc"):
                    continue
                relative = (here / name).relative_to(source).as_posix()
                entries[str(target / relative)] = here / name
    return _write(entries, store)


def _write(entries: dict[str, Path | None], store: BlobStore) -> Layer:
    store.root.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=store.root, prefix=".layer-", delete=False) as raw:
        compressed = _Hashing(raw)
        with gzip.GzipFile(
            filename="", mode="wb", fileobj=compressed, mtime=MTIME, compresslevel=LEVEL
        ) as zipped:
            tar_stream = _Hashing(zipped)  # type: ignore[arg-type]
            with tarfile.open(fileobj=tar_stream, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                for name in sorted(entries):
                    _add(tar, name, entries[name])
    digest = "sha256:" + compressed.hash.hexdigest()
    store.put_file(Path(raw.name), digest)
    diff_id = "sha256:" + tar_stream.hash.hexdigest()
    return Layer(Descriptor(LAYER, digest, compressed.size), diff_id)


def _add(tar: tarfile.TarFile, name: str, source: Path | None) -> None:
    info = tarfile.TarInfo(name)
    info.mtime, info.uid, info.gid, info.uname, info.gname = MTIME, 0, 0, "", ""
    if source is None or (source.is_dir() and not source.is_symlink()):
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
    elif source.is_symlink():
        info.type, info.mode, info.linkname = tarfile.SYMTYPE, 0o777, os.readlink(source)
        tar.addfile(info)
    else:
        info.mode = 0o755 if os.access(source, os.X_OK) else 0o644
        info.size = source.stat().st_size
        with source.open("rb") as stream:
            tar.addfile(info, stream)


def cached(store: BlobStore, key: str, build: Callable[[], Layer]) -> tuple[Layer, bool]:
    """The layer recorded under ``key`` if its blob is still in ``store``, else
    ``build()``'s, recorded; and whether it came from the cache."""
    record = store.root.parent / "layers" / f"{key}.json"
    try:
        layer = Layer.from_json(json.loads(record.read_text()))
        if store.has(layer.descriptor.digest):
            return layer, True
    except (OSError, ValueError, KeyError):
        pass
    layer = build()
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(layer.to_json()))
    return layer, False
