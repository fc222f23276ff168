"""OCI image documents: media types, descriptors, blobs addressed by digest, and the
image layout (``oci-layout``, ``index.json``, ``blobs/sha256/…``) as a directory or a
tar archive.

The JSON is written one way only (sorted keys, no spaces), so the same image always has
the same manifest digest. Written here rather than taken from a package: the documents
are a few dictionaries, and the Python OCI packages on PyPI are either unmaintained or
pull in a registry client of their own.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

INDEX: Final = "application/vnd.oci.image.index.v1+json"
MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
CONFIG: Final = "application/vnd.oci.image.config.v1+json"
LAYER: Final = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LIST: Final = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST: Final = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LAYER: Final = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_CONFIG: Final = "application/vnd.docker.container.image.v1+json"
INDEXES: Final = frozenset({INDEX, DOCKER_LIST})
MANIFESTS: Final = frozenset({MANIFEST, DOCKER_MANIFEST})
GZIP_LAYERS: Final = frozenset({LAYER, DOCKER_LAYER})
REF_NAME: Final = "org.opencontainers.image.ref.name"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(document: Mapping[str, Any]) -> bytes:
    """The one byte form Unkai writes a JSON document in (so its digest is stable)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Descriptor:
    """What a manifest says of a blob: its type, digest and size."""

    media_type: str
    digest: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Descriptor:
        return cls(str(data["mediaType"]), str(data["digest"]), int(data["size"]))


class BlobStore:
    """A directory of blobs named by digest (``sha256/<hex>``): the build cache and the
    blobs of a layout are both this. Writes go through a temporary name, so a blob that
    is there is whole."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        return self.root / algorithm / hexdigest

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def put(self, data: bytes) -> str:
        digest = digest_of(data)
        if not self.has(digest):
            self._place(digest, lambda target: target.write_bytes(data))
        return digest

    def put_file(self, source: Path, digest: str) -> None:
        """Move ``source`` (whose digest the caller computed while writing it) in."""
        if self.has(digest):
            source.unlink()
        else:
            self._place(digest, source.replace)

    def read(self, digest: str) -> bytes:
        return self.path(digest).read_bytes()

    def _place(self, digest: str, write: Any) -> None:
        target = self.path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.partial")
        write(temporary)
        temporary.replace(target)


@dataclass(frozen=True)
class Image:
    """A built image: its manifest (bytes, as pushed), config, and every blob it names."""

    manifest: bytes
    config: bytes
    layers: tuple[Descriptor, ...]
    blobs: BlobStore

    @property
    def digest(self) -> str:
        return digest_of(self.manifest)

    @property
    def config_descriptor(self) -> Descriptor:
        return Descriptor(CONFIG, digest_of(self.config), len(self.config))

    def manifest_descriptor(self) -> Descriptor:
        return Descriptor(MANIFEST, self.digest, len(self.manifest))


def manifest(config: bytes, layers: tuple[Descriptor, ...], labels: Mapping[str, str]) -> bytes:
    """An OCI image manifest for ``config`` and ``layers`` (annotated with ``labels``)."""
    return canonical(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": Descriptor(CONFIG, digest_of(config), len(config)).to_json(),
            "layers": [layer.to_json() for layer in layers],
            "annotations": dict(labels),
        }
    )


def write_layout(image: Image, output: Path, *, tag: str) -> None:
    """Write ``image`` as an OCI image layout: a directory, or a tar archive when
    ``output`` ends in ``.tar`` (what ``skopeo copy oci-archive:`` and ``podman load``
    read). The archive is reproducible: fixed order, times and ownership."""
    descriptor = image.manifest_descriptor().to_json()
    descriptor["annotations"] = {REF_NAME: tag}
    files: dict[str, bytes | Path] = {
        "oci-layout": canonical({"imageLayoutVersion": "1.0.0"}),
        "index.json": canonical(
            {"schemaVersion": 2, "mediaType": INDEX, "manifests": [descriptor]}
        ),
        _blob_name(image.digest): image.manifest,
        _blob_name(image.config_descriptor.digest): image.config,
    }
    for layer in image.layers:
        files[_blob_name(layer.digest)] = image.blobs.path(layer.digest)
    if output.suffix == ".tar":
        output.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(output, "w", format=tarfile.PAX_FORMAT) as archive:
            for name in sorted(files):
                _add(archive, name, files[name])
        return
    if output.exists():
        shutil.rmtree(output / "blobs", ignore_errors=True)
    for name, content in files.items():
        target = output / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        else:
            target.write_bytes(content)


def _blob_name(digest: str) -> str:
    return "blobs/" + digest.replace(":", "/", 1)


def _add(archive: tarfile.TarFile, name: str, content: bytes | Path) -> None:
    info = tarfile.TarInfo(name)
    info.mode, info.mtime, info.uid, info.gid = 0o644, 0, 0, 0
    if isinstance(content, Path):
        info.size = content.stat().st_size
        with content.open("rb") as stream:
            archive.addfile(info, stream)
    else:
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
