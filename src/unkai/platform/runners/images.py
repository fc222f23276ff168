"""Images with or without a container runtime: one image ref runs in both places.

The data plane hands every image that is not a bundle to this runner. Where a container
runtime works, the container runner runs it (any image). Where none does, an image that
``unkai build`` made for this machine's platform and Python still runs: its code and
dependency layers are unpacked (:mod:`unkai.build.unpack`, in a thread: it pulls) and
the process runner runs the function directory as it runs a bundle, fork-server and
all. Any other image keeps the container runner's "no container runtime" reason, with
why it could not run as a process added.

:func:`resolve_digest` pins a tag to the digest its registry gives, as Knative's
revision reconciler does before anything runs, so that a later push to the tag does not
change what a revision runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Collection
from pathlib import Path
from typing import Final

from unkai.build import credentials, references
from unkai.errors import UnkaiError
from unkai.platform.contracts import Reason, RevisionKey
from unkai.platform.runners.base import Instance, Runner, RunnerError
from unkai.platform.runners.container import ContainerRunner
from unkai.platform.runners.spec import InstanceSpec

LOCAL_STORE: Final = "localhost"
"""podman's name for images only in its own store (``localhost/name:tag``), where no
registry answers: never resolved. A registry on this machine has a port
(``localhost:5000``) and is."""


def resolve_digest(image: str, skipping: Collection[str], *, timeout: float) -> str:
    """``image`` pinned to the digest its registry gives for its tag now
    (``registry/repository@sha256:…``); ``""`` for a registry in ``skipping``
    (``config-deployment``'s ``registries-skipping-tag-resolving``) or podman's local
    store. An image that pins a digest already is returned as it is. Registry auth is
    ``unkai build``'s (``~/.docker/config.json``, credential helpers).

    Raises :class:`~unkai.errors.UnkaiError` saying why it cannot be resolved."""
    reference = references.parse(image)
    if reference.digest:
        return image
    if reference.registry in skipping or reference.registry == LOCAL_STORE:
        return ""
    from unkai.build.registry import Registry  # late: httpx2, off `unkai up` idle

    found = credentials.for_registry(reference.registry)
    with Registry(reference.registry, found, timeout=timeout) as registry:
        digest = registry.digest(reference)
    return str(references.Reference(reference.registry, reference.repository, digest=digest))


class ImageRunner:
    """The container runner, falling back to the process runner for Unkai-built images."""

    def __init__(
        self, container: ContainerRunner, process: Runner, *, root: Path,
        environments: Path | None = None,
    ) -> None:  # fmt: skip
        self._container = container
        self._process = process
        self._root = root
        self._environments = environments
        self._unpacked: dict[str, asyncio.Task[Path]] = {}

    async def prepare(self, spec: InstanceSpec) -> None:
        runner, chosen = await self._choose(spec)
        await runner.prepare(chosen)

    async def start(self, spec: InstanceSpec) -> Instance:
        runner, chosen = await self._choose(spec)
        return await runner.start(chosen)

    async def retire(self, key: RevisionKey) -> None:
        await self._container.retire(key)
        await self._process.retire(key)

    async def close(self) -> None:
        """Close the container runner; the process runner is its owner's to close."""
        await self._container.close()

    async def _choose(self, spec: InstanceSpec) -> tuple[Runner, InstanceSpec]:
        try:
            await self._container.engine()
            return self._container, spec
        except RunnerError as error:
            if error.reason != Reason.CONTAINER_RUNTIME_UNAVAILABLE:
                raise
            unavailable = error
        from unkai.build import unpack  # late: the image builder and registry client, off idle

        task = self._unpacked.get(spec.image)
        if task is None or (task.done() and (task.cancelled() or task.exception())):
            work = functools.partial(unpack.unpack, spec.image, self._root,
                                     env_root=self._environments)  # fmt: skip
            task = asyncio.ensure_future(asyncio.to_thread(work))
            self._unpacked[spec.image] = task
        try:
            directory = await asyncio.shield(task)
        except UnkaiError as error:  # not Unkai-built, another platform, a registry's refusal
            raise RunnerError(
                unavailable.reason, f"{unavailable.message} It cannot run as a process: {error}"
            ) from None
        return self._process, dataclasses.replace(spec, bundle=directory)
