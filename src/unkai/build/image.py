"""``unkai build``: a function directory on a base image, as an OCI image, with no
container daemon.

The image is the base image's layers, then three of Unkai's (see :mod:`sources`): the
runtime, the function's dependencies, the function's code. Its config runs the runtime
(``python3 -m unkai.runtime /app``) as a non-root user on ``PORT=8080``, and its labels
say which function, signature, source digest, runtime version and base it holds. Every
part is written the same way from the same inputs, so two builds of an unchanged
function give one digest; what changed is all that is rebuilt.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import unkai
from unkai.api import funcyaml, locations
from unkai.build import base as bases
from unkai.build import credentials, oci, platforms, references, sources
from unkai.build.layers import Layer
from unkai.build.oci import BlobStore, Image
from unkai.build.registry import Registry

USER: Final = "65532:65532"
PORT: Final = 8080
EPOCH: Final = "1970-01-01T00:00:00Z"
LABEL: Final = "dev.unkai"
ENTRYPOINT: Final = ("python3", "-m", "unkai.runtime", f"/{sources.CODE}")


class BuildProgress(Protocol):
    """What a build shows: its steps, and bytes moving for long transfers."""

    def step(self, activity: str) -> None: ...

    def transfer(self, what: str, done: int, total: int) -> None: ...


@dataclass(frozen=True)
class Options:
    """How to build: the base image (default: the official slim Python image of this
    interpreter's minor version), its Python (default: the base's), whether a registry
    off this machine may be spoken to in plain HTTP, where the cache is, and which of
    the function's files to leave out."""

    base_image: str | None = None
    python: str | None = None
    architecture: str | None = None
    insecure_registry: bool = False
    cache: Path = field(default_factory=lambda: locations.cache_dir() / "images")
    ignores: sources.Ignores | None = None
    """What stays out of the code layer (the ``.funcignore`` rules of bundles)."""


def default_base() -> str:
    return f"python:{sys.version_info.major}.{sys.version_info.minor}-slim"


def build(directory: Path, options: Options, progress: BuildProgress) -> Image:
    """Build the function in ``directory`` into an image whose blobs are in the cache."""
    spec = funcyaml.load(directory)
    store = BlobStore(options.cache / "blobs")
    reference = references.parse(options.base_image or default_base())
    progress.step(f"Pulling {reference}")
    with Registry(
        reference.registry,
        credentials.for_registry(reference.registry),
        insecure=options.insecure_registry,
    ) as registry:
        base = bases.pull(
            registry,
            reference,
            store,
            progress=progress.transfer,
            architecture=options.architecture or platforms.host_architecture(),
        )
    target = platforms.of_config(base.config, options.python)
    progress.step(f"Runtime layer for {target.key}")
    runtime, _ = sources.runtime(target, store)
    lines = spec.requirement_lines(directory)
    progress.step(f"Dependency layer ({len(lines)} requirement lines)" if lines else
                  "No requirements: no dependency layer")  # fmt: skip
    deps, _ = sources.dependencies(lines, directory, target, store)
    progress.step("Code layer")
    code = sources.code(directory, store, options.ignores)
    named = [("runtime", runtime), ("dependencies", deps), ("code", code)]
    ours = {name: layer for name, layer in named if layer is not None}
    labels = {
        f"{LABEL}.function": spec.name,
        f"{LABEL}.signature": spec.signature.value if spec.signature else "auto",
        f"{LABEL}.source-digest": code.diff_id,
        f"{LABEL}.runtime-version": unkai.__version__,
        "org.opencontainers.image.base.name": str(reference),
        "org.opencontainers.image.base.digest": base.reference.digest or "",
    }
    config = oci.canonical(_config(base.config, ours, labels))
    layers = (*base.layers, *(layer.descriptor for layer in ours.values()))
    return Image(oci.manifest(config, layers, labels), config, layers, store)


def _config(
    base: Mapping[str, Any], ours: Mapping[str, Layer], labels: Mapping[str, str]
) -> dict[str, Any]:
    settings = dict(base.get("config") or {})
    env = [
        entry
        for entry in settings.get("Env") or []
        if entry.partition("=")[0] not in ("PORT", "PYTHONPATH")
    ]
    python_path = f"/{sources.DEPS}:/{sources.RUNTIME}"
    env += [
        f"PORT={PORT}",
        f"PYTHONPATH={python_path}",
        "PYTHONDONTWRITEBYTECODE=1",
        "PYTHONUNBUFFERED=1",
    ]
    settings.update(
        Env=env,
        Entrypoint=list(ENTRYPOINT),
        Cmd=None,
        User=USER,
        WorkingDir=f"/{sources.CODE}",
        ExposedPorts={f"{PORT}/tcp": {}},
        Labels={**(settings.get("Labels") or {}), **labels},
    )
    rootfs = base.get("rootfs") or {}
    history = [*(base.get("history") or [])]
    history += [{"created": EPOCH, "created_by": f"unkai build: {name}"} for name in ours]
    return {
        "created": EPOCH,
        "architecture": base.get("architecture", "amd64"),
        "os": base.get("os", "linux"),
        "config": settings,
        "rootfs": {
            "type": "layers",
            "diff_ids": [*rootfs.get("diff_ids", []), *(layer.diff_id for layer in ours.values())],
        },
        "history": history,
    }


def labels_of(config: bytes) -> dict[str, str]:
    """The labels of an image config (what tells an Unkai-built image)."""
    return dict(json.loads(config).get("config", {}).get("Labels") or {})
