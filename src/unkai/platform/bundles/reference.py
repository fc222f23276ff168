"""Image references that name a bundle: ``unkai.local/{namespace}/{name}@sha256:{hex}``.

A Revision's ``image`` is how Knative says what to run, so a deployed bundle is named
by an image reference too: the registry host ``unkai.local`` (never resolved over the
network) tells the data plane to run the bundle with that digest through the process
runner; any other reference is an OCI image for the container runner. Only the digest
identifies the content; namespace and name say where it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from unkai.platform.bundles.archive import BundleError

REGISTRY: Final = "unkai.local"
DIGEST: Final = re.compile(r"^sha256:[0-9a-f]{64}$")
_REFERENCE: Final = re.compile(
    rf"^{re.escape(REGISTRY)}/(?P<namespace>[a-z0-9]([-a-z0-9]*[a-z0-9])?)"
    r"/(?P<name>[a-z0-9]([-a-z0-9]*[a-z0-9])?)@(?P<digest>sha256:[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class BundleRef:
    """A bundle named by an image reference; ``digest`` is ``sha256:{hex}``."""

    namespace: str
    name: str
    digest: str

    def __str__(self) -> str:
        return format_reference(namespace=self.namespace, name=self.name, digest=self.digest)


def format_reference(*, namespace: str, name: str, digest: str) -> str:
    """The image reference of a bundle, as ``unkai deploy`` writes it into a Service."""
    image = f"{REGISTRY}/{namespace}/{name}@{digest}"
    if not _REFERENCE.match(image):
        raise BundleError(f"cannot name a bundle {image!r}: expected {_form()}")
    return image


def parse_reference(image: str) -> BundleRef | None:
    """The bundle ``image`` names, or ``None`` for an image from any other registry.

    A reference under ``unkai.local/`` that is malformed is an error, not "some other
    image": no container runtime could pull it either.
    """
    if not image.startswith(f"{REGISTRY}/"):
        return None
    match = _REFERENCE.match(image)
    if match is None:
        raise BundleError(f"malformed bundle reference {image!r}: expected {_form()}")
    return BundleRef(match["namespace"], match["name"], match["digest"])


def _form() -> str:
    return f"{REGISTRY}/NAMESPACE/NAME@sha256:HEX (64 lower-case hex digits)"
