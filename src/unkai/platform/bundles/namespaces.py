"""Bundles kept per namespace, so that a namespace is a boundary for bundles too.

Content addressing alone would let every tenant share one copy of an identical bundle,
but then a tenant learns, by asking whether a digest is there, what another namespace
deployed, and a bundle one namespace uploaded runs in another that names its digest.
So each namespace has its own :class:`~unkai.platform.bundles.store.BundleStore` under
``{root}/namespaces/{namespace}/``; the upload endpoint and the data plane only ever ask
the store of the namespace they act for (the token's, the Revision's). Identical
bundles in two namespaces cost their size twice: bundles are small (50 MiB at most),
tenants few.

Data dirs from before this layout kept one shared store at ``{root}/blobs`` and
``{root}/trees``. :meth:`NamespacedBundles.adopt_shared` moves it over once, at start:
each old bundle is copied into every namespace whose Revisions name it, and the old
folders are removed, so that no bundle stays readable outside its namespaces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

from unkai.platform.bundles.archive import BundleError
from unkai.platform.bundles.store import DEFAULT_MAX_SIZE, BundleStore, remove_tree

_NAMESPACE: Final = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SHARED: Final = ("blobs", "trees")
"""The folders of the shared store that data dirs kept before bundles were per namespace."""


class NamespacedBundles:
    """One bundle store per namespace under ``root``."""

    def __init__(self, root: Path, *, max_size: int = DEFAULT_MAX_SIZE) -> None:
        self.root = root
        self.max_size = max_size

    def of(self, namespace: str) -> BundleStore:
        """The bundles of ``namespace`` (a DNS label, as Kubernetes names namespaces)."""
        if not _NAMESPACE.match(namespace):
            raise BundleError(f"not a namespace name: {namespace!r}")
        return BundleStore(self.root / "namespaces" / namespace, max_size=self.max_size)

    def namespaces(self) -> list[str]:
        """The namespaces that hold bundles."""
        folder = self.root / "namespaces"
        return sorted(entry.name for entry in folder.iterdir()) if folder.is_dir() else []

    def clean(self) -> None:
        """Remove what interrupted uploads left, in every namespace (at start)."""
        for namespace in self.namespaces():
            self.of(namespace).clean()

    def has_shared(self) -> bool:
        """Whether the data dir still has the shared store of an older layout."""
        return any((self.root / name).exists() for name in _SHARED)

    def adopt_shared(self, owners: Mapping[str, Iterable[str]]) -> None:
        """Move the shared store of an older data dir into the namespaces: the bundle
        with digest ``d`` goes to each namespace in ``owners[d]`` (those whose Revisions
        name it); one that no Revision names is dropped, as nothing can run it."""
        blobs = self.root / "blobs" / "sha256"
        for blob in sorted(blobs.glob("*.tar.gz")) if blobs.is_dir() else []:
            digest = "sha256:" + blob.name.removesuffix(".tar.gz")
            for namespace in owners.get(digest, ()):
                self.of(namespace).put(blob.read_bytes(), digest=digest)
        for name in _SHARED:
            if (self.root / name).exists():
                remove_tree(self.root / name)
