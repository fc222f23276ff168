"""Pushing a built image: its blobs (skipped when there, mounted from the base image's
repository when it lives on the same registry), then the manifest under the tag."""

from __future__ import annotations

from unkai.build import oci
from unkai.build.image import BuildProgress, labels_of
from unkai.build.oci import Image
from unkai.build.references import Reference, parse
from unkai.build.registry import Registry


def push(
    image: Image, reference: Reference, registry: Registry, progress: BuildProgress
) -> tuple[str, dict[str, int]]:
    """Push ``image`` to ``reference``; return the reference pinned by digest, and how
    many blobs were ``uploaded``, ``mounted``, or already there (``present``)."""
    base = labels_of(image.config).get("org.opencontainers.image.base.name")
    origin = parse(base) if base else None
    origins = [origin.repository] if origin and origin.registry == reference.registry else []
    config_path = image.blobs.path(image.blobs.put(image.config))
    progress.step(f"Pushing to {reference}")
    counts: dict[str, int] = {}
    for descriptor in (*image.layers, image.config_descriptor):
        source = (
            config_path
            if descriptor.digest == image.config_descriptor.digest
            else (image.blobs.path(descriptor.digest))
        )
        how = registry.push_blob(
            reference.repository,
            descriptor.digest,
            source,
            mount_from=origins,
            progress=progress.transfer,
        )
        counts[how] = counts.get(how, 0) + 1
    digest = registry.put_manifest(reference, oci.MANIFEST, image.manifest)
    return str(reference.with_digest(digest)), counts
