"""The runtime's own distributions: the versions a function's requirements must agree with.

A function runs on Unkai's interpreter with its requirements first on ``PYTHONPATH``.
A package the runtime also uses (starlette, pydantic, cloudevents…) installed there in
another version would replace the runtime's copy and break it (``cloudevents==1.11.0``
has no ``cloudevents.core``). So pip resolves a function's requirements under
:func:`constraints` pinning everything the runtime needs, Unkai's dependencies taken
transitively as installed: a requirement either accepts those versions or the install
fails naming the conflict. ``pip --target`` installs into an empty directory and so
still fetches copies of the pinned packages it needs; :func:`remove_runtime_copies`
deletes them afterwards, leaving the runtime's own files the only ones imported.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

RUNTIME = "unkai"


def runtime_versions() -> dict[str, str]:
    """Canonical name -> installed version, for Unkai and all it needs at run time."""
    return closure((RUNTIME,))


@functools.cache
def closure(roots: tuple[str, ...]) -> dict[str, str]:
    """Canonical name -> installed version, for ``roots`` and all they need.

    Dependencies follow the markers of this interpreter and platform, and the extras
    asked for along the way (``httpx2[http2]``); Unkai's own extras (``dev``) are not
    the runtime's. A dependency that is not installed is left out: nothing to shadow.
    """
    versions: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    pending = [(canonicalize_name(root), "") for root in roots]
    while pending:
        name, extra = pending.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        versions[name] = distribution.version
        for line in distribution.requires or []:
            try:
                requirement = Requirement(line)
            except InvalidRequirement:  # legacy metadata pip itself would not read either
                continue
            if requirement.marker is None or requirement.marker.evaluate({"extra": extra}):
                dependency = canonicalize_name(requirement.name)
                pending += [(dependency, wanted) for wanted in ("", *requirement.extras)]
    return versions


def constraints() -> list[str]:
    """pip constraint lines pinning the runtime's distributions to their versions."""
    return [f"{name}=={version}" for name, version in sorted(runtime_versions().items())]


def remove_runtime_copies(site: Path, present: Mapping[str, str] | None = None) -> None:
    """Delete from ``site`` the distributions the runtime already has (``present``, by
    canonical name; default all of :func:`runtime_versions`, as on this machine).

    The constraints made them the runtime's very versions, so nothing is lost, and the
    runtime's own files stay the only copies on the path. Only files under ``site``
    are touched, whatever a RECORD says.
    """
    root = site.resolve()
    pinned = runtime_versions() if present is None else present
    for distribution in metadata.distributions(path=[str(site)]):
        if canonicalize_name(distribution.name) not in pinned:
            continue
        for file in distribution.files or []:
            path = Path(str(distribution.locate_file(file))).resolve()
            if path.is_relative_to(root) and path.is_file():
                path.unlink()
    for directory, _, _ in os.walk(site, topdown=False):
        if Path(directory) != site and not os.listdir(directory):
            os.rmdir(directory)
