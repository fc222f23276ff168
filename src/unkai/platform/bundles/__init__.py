"""Content-addressed function source bundles: what ``unkai deploy`` uploads and instances run.

``pack(directory)`` makes the deterministic archive, ``BundleStore`` keeps archives by
digest and hands out their unpacked, read-only directories, ``NamespacedBundles`` keeps
one such store per namespace (a namespace never sees another's), and a Revision names a
bundle with an image reference ``unkai.local/{namespace}/{name}@sha256:{hex}``
(``format_reference`` / ``parse_reference``). See docs/runners.md.
"""

from unkai.platform.bundles.archive import BundleError, pack
from unkai.platform.bundles.namespaces import NamespacedBundles
from unkai.platform.bundles.reference import REGISTRY, BundleRef, format_reference, parse_reference
from unkai.platform.bundles.store import DEFAULT_MAX_SIZE, BundleNotFoundError, BundleStore

__all__ = [
    "DEFAULT_MAX_SIZE",
    "REGISTRY",
    "BundleError",
    "BundleNotFoundError",
    "BundleRef",
    "BundleStore",
    "NamespacedBundles",
    "format_reference",
    "pack",
    "parse_reference",
]
