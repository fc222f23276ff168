"""Image references as docker reads them: ``python:3.12-slim`` is Docker Hub's
``library/python``, ``localhost:5000/fn`` a registry on this machine.

The normalisation is docker's (distribution's ``reference`` package): the first path
component names a registry only when it holds a ``.`` or a ``:`` or is ``localhost``;
otherwise the image lives on Docker Hub, under ``library/`` when it has one component.
Hand-written because no well-kept Python package carries these rules on their own (the
Docker SDK's parser needs its daemon client around it).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from unkai.errors import UserError

DOCKER_HUB = "registry-1.docker.io"
_HUB_NAMES = frozenset({"docker.io", "index.docker.io", DOCKER_HUB})
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class ImageReferenceError(UserError, ValueError):
    """An image reference that docker would not read either; the message says which part."""


@dataclass(frozen=True)
class Reference:
    """Where an image lives: ``registry`` host[:port], ``repository``, and a tag or digest."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def version(self) -> str:
        """What to ask the registry's manifest endpoint for: the digest, else the tag."""
        return self.digest or self.tag or "latest"

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.registry, self.repository, self.tag, digest)

    def __str__(self) -> str:
        host = "docker.io" if self.registry == DOCKER_HUB else self.registry
        text = f"{host}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse(text: str) -> Reference:
    """``[registry/]repository[:tag][@digest]`` -> :class:`Reference` (tag ``latest`` when
    neither is given)."""
    rest, _, digest = text.strip().partition("@")
    if digest and not _DIGEST.match(digest):
        raise ImageReferenceError(f"image {text!r}: digest {digest!r} is not sha256:<64 hex>")
    first, slash, after = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, after
    else:
        registry, path = DOCKER_HUB, rest
    if registry in _HUB_NAMES:
        registry = DOCKER_HUB
    path, colon, tag = path.rpartition(":") if ":" in path else (path, "", "")
    if colon and not _TAG.match(tag):
        raise ImageReferenceError(f"image {text!r}: tag {tag!r} is not a valid tag")
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not _REPOSITORY.match(path):
        raise ImageReferenceError(
            f"image {text!r}: repository {path!r} must be lowercase letters, digits and"
            " separators (. _ -) in /-separated parts"
        )
    return Reference(registry, path, tag or (None if digest else "latest"), digest or None)


def is_loopback(registry: str) -> bool:
    """Whether ``host[:port]`` is this machine, where plain HTTP is allowed by default."""
    host = registry[1 : registry.find("]")] if registry.startswith("[") else registry
    host = host if host.count(":") > 1 else host.partition(":")[0]
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
