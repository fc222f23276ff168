"""An Unkai-built image laid out to run without a container: its code as a function
directory, its dependency layer as the requirement environment the process runner
would have installed.

Only Unkai's own layers are pulled (the config's history names them: ``unkai build:
code`` and ``unkai build: dependencies``), never the base image's, and only for an
image of this machine's platform and Python: the process runner runs the function on
this interpreter, with the runtime it already has. The environment is placed where
:mod:`unkai.build.environments` looks for the function's requirements (same key), so
the runner finds it installed and never calls pip. Directories are made under a
temporary name and renamed into place: a half-unpacked image is never taken.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Final

from unkai.api import funcyaml, locations
from unkai.build import credentials, environments, oci, platforms, references
from unkai.build.image import LABEL
from unkai.build.oci import BlobStore, Descriptor
from unkai.build.registry import Registry
from unkai.build.sources import CODE, DEPS
from unkai.errors import UserError

_BY_UNKAI: Final = "unkai build: "


class NotRunnableError(UserError):
    """The image cannot run as a process here (not Unkai-built, or another platform)."""


def unpack(image: str, root: Path, *, env_root: Path | None = None, insecure: bool = False) -> Path:
    """The function directory of Unkai-built ``image`` (pulled and laid out under
    ``root`` once per manifest digest), its requirements ready in the env cache."""
    reference = references.parse(image)
    store = BlobStore(root / "blobs")
    with Registry(reference.registry, credentials.for_registry(reference.registry),
                  insecure=insecure) as registry:  # fmt: skip
        media_type, data = registry.manifest(reference)
        document = json.loads(data)
        if document.get("mediaType", media_type) not in oci.MANIFESTS:
            raise NotRunnableError(f"{image} is an index, not one image: name one platform's")
        function = root / "functions" / oci.digest_of(data).removeprefix("sha256:")
        config_descriptor = Descriptor.from_json(document["config"])
        registry.pull_blob(reference.repository, config_descriptor, store)
        config = json.loads(store.read(config_descriptor.digest))
        ours = _unkai_layers(image, config, document)
        for descriptor in ours.values():
            registry.pull_blob(reference.repository, descriptor, store)
    if not function.is_dir():
        _extract(store, ours["code"], CODE, function)
    spec = funcyaml.load(function)
    lines = spec.requirement_lines(function)
    key = environments.environment_key(lines, base_dir=function)
    site = (env_root or locations.cache_dir()) / "envs" / key
    if "dependencies" in ours and not site.is_dir():
        _extract(store, ours["dependencies"], DEPS, site)
    return function


def _unkai_layers(
    image: str, config: dict[str, Any], manifest: dict[str, Any]
) -> dict[str, Descriptor]:
    labels = (config.get("config") or {}).get("Labels") or {}
    if f"{LABEL}.function" not in labels:
        raise NotRunnableError(f"{image} was not built by `unkai build`")
    target = platforms.of_config(config, None)
    if not target.is_host():
        raise NotRunnableError(
            f"{image} is for {target.key}, not this machine's platform and Python"
        )
    history = [entry.get("created_by", "") for entry in config.get("history") or []
               if not entry.get("empty_layer")]  # fmt: skip
    layers = [Descriptor.from_json(entry) for entry in manifest.get("layers", [])]
    count = min(len(history), len(layers))  # ours are last; a base may keep no history
    named = dict(zip(history[len(history) - count :], layers[len(layers) - count :], strict=True))
    return {name.removeprefix(_BY_UNKAI): layer for name, layer in named.items()
            if name.startswith(_BY_UNKAI)}  # fmt: skip


def _extract(store: BlobStore, layer: Descriptor, prefix: str, destination: Path) -> None:
    """Extract the entries of ``layer`` under ``prefix``/ into ``destination``."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-", dir=destination.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would shut out the sandbox's unprivileged user
    try:
        with tarfile.open(store.path(layer.digest), "r:gz") as tar:
            members = []
            for member in tar.getmembers():
                name = member.name.removeprefix("./")
                if name.startswith(prefix + "/"):
                    member.name = name[len(prefix) + 1 :]
                    members.append(member)
            tar.extractall(staging, members=members, filter="data")
        try:
            staging.rename(destination)
        except OSError:
            if not destination.is_dir():  # another unpacker won the race only if it is there
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
