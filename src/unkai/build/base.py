"""The base image, pulled through the distribution API into the blob cache.

A reference may name an index (a multi-platform image, as the official Python images
are): the manifest for ``linux`` and this machine's architecture is taken, unless
``architecture`` asks for another. The manifest is asked for every build (tags move),
the blobs only when the cache lacks them. Docker's media types are read as their OCI
twins (same bytes), so the built manifest is OCI throughout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from unkai.build import oci
from unkai.build.oci import BlobStore, Descriptor
from unkai.build.references import Reference
from unkai.build.registry import Progress, Registry, RegistryError


@dataclass(frozen=True)
class Base:
    """A pulled base image: where it came from (pinned by digest), config and layers."""

    reference: Reference
    config: dict[str, Any]
    layers: tuple[Descriptor, ...]


def pull(
    registry: Registry,
    reference: Reference,
    store: BlobStore,
    *,
    architecture: str,
    progress: Progress,
) -> Base:
    """Pull ``reference``'s config and layers into ``store``."""
    media_type, data = registry.manifest(reference)
    document = json.loads(data)
    media_type = document.get("mediaType", media_type)
    if media_type in oci.INDEXES:
        chosen = _platform(document, architecture, reference)
        reference = reference.with_digest(chosen.digest)
        media_type, data = registry.manifest(reference)
        document = json.loads(data)
        media_type = document.get("mediaType", media_type)
    else:
        reference = reference.with_digest(oci.digest_of(data))
    if media_type not in oci.MANIFESTS:
        raise RegistryError(f"{reference}: not an image manifest ({media_type or 'no media type'})")
    config_descriptor = Descriptor.from_json(document["config"])
    registry.pull_blob(reference.repository, config_descriptor, store)
    config = json.loads(store.read(config_descriptor.digest))
    layers = []
    for entry in document.get("layers", []):
        descriptor = Descriptor.from_json(entry)
        if descriptor.media_type not in oci.GZIP_LAYERS:
            raise RegistryError(
                f"{reference}: layer {descriptor.digest} is {descriptor.media_type};"
                " Unkai builds on gzip'd layers only"
            )
        registry.pull_blob(reference.repository, descriptor, store, progress)
        layers.append(Descriptor(oci.LAYER, descriptor.digest, descriptor.size))
    return Base(reference, config, tuple(layers))


def _platform(index: dict[str, Any], architecture: str, reference: Reference) -> Descriptor:
    offered = []
    for entry in index.get("manifests", []):
        platform = entry.get("platform") or {}
        offered.append(f"{platform.get('os')}/{platform.get('architecture')}")
        if platform.get("os") == "linux" and platform.get("architecture") == architecture:
            return Descriptor.from_json(entry)
    raise RegistryError(
        f"{reference} has no linux/{architecture} image (it offers {', '.join(offered)})"
    )
