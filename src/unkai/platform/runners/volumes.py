"""A revision's volumes as files: ``configMap``, ``secret``, ``projected`` and ``emptyDir``.

:func:`files` is pure: from the Revision and the data plane's copy of the ConfigMaps and
Secrets (``sources``), the files each volume holds, with their modes (``items`` pick and
rename keys, ``mode`` and ``defaultMode`` as given, 0644 by default). :func:`write`
puts them in the volume's directory the way a kubelet's atomic writer does: the files
live in a fresh ``..<n>`` directory, a ``..data`` symlink is swapped to it in one
``rename``, and each top-level name is a symlink through ``..data``, so a reader sees
either the old set or the new one, never half of each. The data plane writes again
whenever a ConfigMap or Secret changes, which is how mounted files follow updates on
a cluster. An ``emptyDir`` is an empty, writable directory that is never rewritten.

A required source or key that is missing fails the revision with the kubelet's reason
``FailedMount`` and its message (``configmap "app" not found``).
"""

from __future__ import annotations

import itertools
import math
import os
import re
import shutil
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any, Final

from unkai.platform.contracts import Reason
from unkai.platform.runners.base import RunnerError
from unkai.platform.runners.sources import Kind, Sources
from unkai.platform.runners.spec import Mount

FAILED_MOUNT: Final = "FailedMount"
DEFAULT_MODE: Final = 0o644
DATA: Final = "..data"

Files = dict[str, tuple[bytes, int]]
"""relative path -> (content, mode)"""

_generations = itertools.count(1)
_QUANTITY = re.compile(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?")
_FACTORS = {
    None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}  # fmt: skip


def quantity_bytes(quantity: str) -> int:
    """A Kubernetes quantity of bytes (``64Mi``, ``1G``, ``500``) as a number of bytes."""
    match = _QUANTITY.fullmatch(quantity.strip())
    if match is None:
        raise RunnerError(FAILED_MOUNT, f'sizeLimit "{quantity}" is not a quantity of bytes')
    return math.ceil(Decimal(match.group(1)) * _FACTORS[match.group(2)])


def source(mount: Mount, volumes_dir: Path | None) -> Path:
    """Where ``mount``'s files are on this machine, to bind at its ``mountPath`` (a
    ``subPath`` resolved once: like a kubelet's, it does not follow later updates).
    Both runners bind it; an on-disk ``emptyDir`` with a ``sizeLimit`` is refused, as
    nothing here could enforce it."""
    if mount.size_limit and not mount.memory:
        raise RunnerError(
            Reason.UNSUPPORTED_BY_RUNNER,
            f"emptyDir sizeLimit at {mount.mount_path} cannot be enforced on disk here;"
            " use medium: Memory (a tmpfs of that size) or leave sizeLimit out",
        )
    if volumes_dir is None:
        raise RunnerError(Reason.UNSUPPORTED_BY_RUNNER, "volumes were not materialised")
    directory = volumes_dir / mount.volume
    return (directory / mount.sub_path).resolve() if mount.sub_path else directory


def files(revision: Mapping[str, Any], sources: Sources) -> dict[str, Files | None]:
    """Each volume's files by volume name; ``None`` for an ``emptyDir``."""
    namespace = str((revision.get("metadata") or {}).get("namespace") or "default")
    result: dict[str, Files | None] = {}
    for volume in (revision.get("spec") or {}).get("volumes") or []:
        name = str(volume.get("name", ""))
        if "emptyDir" in volume:
            result[name] = None
        elif isinstance(volume.get("configMap"), Mapping):
            result[name] = _projection(volume["configMap"], "ConfigMap", namespace, sources)
        elif isinstance(volume.get("secret"), Mapping):
            result[name] = _projection(volume["secret"], "Secret", namespace, sources)
        elif isinstance(volume.get("projected"), Mapping):
            result[name] = _projected(volume["projected"], namespace, sources)
        else:
            kinds = sorted(set(volume) - {"name"})
            raise RunnerError(FAILED_MOUNT, f'volume "{name}": unsupported volume type {kinds}')
    return result


def _projected(projected: Mapping[str, Any], namespace: str, sources: Sources) -> Files:
    default_mode = int(projected.get("defaultMode", DEFAULT_MODE))
    found: Files = {}
    for source in projected.get("sources") or []:
        if isinstance(source.get("configMap"), Mapping):
            ref = {**source["configMap"], "defaultMode": default_mode}
            found |= _projection(ref, "ConfigMap", namespace, sources)
        elif isinstance(source.get("secret"), Mapping):
            ref = {**source["secret"], "defaultMode": default_mode}
            found |= _projection(ref, "Secret", namespace, sources)
        else:
            kinds = sorted(source)
            raise RunnerError(FAILED_MOUNT, f"projected volume source {kinds} is not supported")
    return found


def _projection(ref: Mapping[str, Any], kind: Kind, namespace: str, sources: Sources) -> Files:
    name = str(ref.get("secretName") or ref.get("name") or "")
    data = sources.get(kind, namespace, name)
    optional = bool(ref.get("optional"))
    if data is None:
        if optional:
            return {}
        raise RunnerError(FAILED_MOUNT, f'{kind.lower()} "{name}" not found')
    default_mode = int(ref.get("defaultMode", DEFAULT_MODE))
    items = ref.get("items")
    if not items:
        return {key: (value, default_mode) for key, value in data.items()}
    found: Files = {}
    for item in items:
        key = str(item.get("key", ""))
        if key not in data:
            if optional:
                continue
            raise RunnerError(
                FAILED_MOUNT, f"{kind.lower()} references non-existent {kind.lower()} key: {key}"
            )
        found[_relative(str(item.get("path") or key))] = (
            data[key],
            int(item.get("mode", default_mode)),
        )
    return found


def _relative(path: str) -> str:
    parts = PurePosixPath(path).parts
    if not parts or PurePosixPath(path).is_absolute() or ".." in parts:
        raise RunnerError(FAILED_MOUNT, f'item path "{path}" must be relative, without ".."')
    return str(PurePosixPath(*parts))


def write(directory: Path, content: Files | None) -> bool:
    """Make ``directory`` hold ``content`` (``None``: an empty writable directory, made
    once); whether anything changed."""
    if content is None:
        if directory.is_dir():
            return False
        directory.mkdir(parents=True)
        directory.chmod(0o777)  # emptyDir: whatever user the instance runs as may write
        return True
    directory.mkdir(parents=True, exist_ok=True)
    if _current(directory) == content:
        return False
    generation = directory / f"..{os.getpid()}_{next(_generations)}"
    generation.mkdir()
    for relative, (data, mode) in content.items():
        path = generation / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(mode)
    swap = directory / "..data_tmp"
    swap.unlink(missing_ok=True)
    swap.symlink_to(generation.name)
    previous = (directory / DATA).resolve() if (directory / DATA).is_symlink() else None
    os.replace(swap, directory / DATA)
    tops = {PurePosixPath(relative).parts[0] for relative in content}
    for entry in directory.iterdir():
        if entry.name.startswith(".."):
            continue
        if entry.name not in tops:
            entry.unlink()
    for top in tops:
        if not (directory / top).is_symlink():
            (directory / top).symlink_to(f"{DATA}/{top}")
    if previous is not None and previous != generation:
        shutil.rmtree(previous, ignore_errors=True)
    return True


def _current(directory: Path) -> Files | None:
    data = directory / DATA
    if not data.is_dir():
        return None
    found: Files = {}
    for path in data.rglob("*"):
        if path.is_file():
            found[str(path.relative_to(data))] = (path.read_bytes(), path.stat().st_mode & 0o7777)
    return found
