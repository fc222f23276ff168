"""A read-only Pod view of the running instances, so ``kubectl get pods``, ``describe
pod`` and ``logs`` work on ``unkai up`` as they do on a cluster.

On Kubernetes every ready instance of a revision is a Pod labelled with its revision,
configuration and service, and that is where users look first. ``unkai up`` mirrors its
ready instances into the API as such Pods (owned by their Revision, so they go with it),
re-checking a revision whenever the data plane reports a change and every
:data:`RESYNC_SECONDS` for all of them. Users cannot write Pods (the kind is read-only);
``GET …/pods/{name}/log`` serves the instance's log file (``tailLines`` and ``follow``
honoured), which is what ``kubectl logs`` reads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Protocol

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from unkai.api import kinds
from unkai.platform.apiserver import errors
from unkai.platform.apiserver.service import ResourceService
from unkai.platform.contracts import RevisionKey
from unkai.platform.runners import Instance, logfiles

log = logging.getLogger("unkai.platform")
RESYNC_SECONDS: Final = 30.0
CONTAINER: Final = "user-container"
REVISION_LABEL: Final = "serving.knative.dev/revision"


class RunningInstances(Protocol):
    """What the mirror needs of the data plane."""

    def ready_instances(self, key: RevisionKey) -> list[Instance]: ...

    def revision_keys(self) -> Iterable[RevisionKey]: ...


def pod_of(instance: Instance, *, revision: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The Pod an instance of ``revision`` shows as (pure: ``now`` gives its start time)."""
    spec, labels = instance.spec, {REVISION_LABEL: instance.spec.revision}
    labels["serving.knative.dev/configuration"] = spec.configuration
    if spec.service:
        labels["serving.knative.dev/service"] = spec.service
    started = (now - timedelta(seconds=instance.uptime())).strftime("%Y-%m-%dT%H:%M:%SZ")
    owner = {
        "apiVersion": kinds.REVISION.api_version, "kind": kinds.REVISION.kind,
        "name": spec.revision, "uid": revision["metadata"]["uid"], "controller": True,
    }  # fmt: skip
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": instance.id,
            "namespace": spec.namespace,
            "labels": labels,
            "ownerReferences": [owner],
        },
        "spec": {"containers": [{"name": CONTAINER, "image": spec.image}]},
        "status": {
            "phase": "Running",
            "podIP": "127.0.0.1",
            "startTime": started,
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {
                    "name": CONTAINER,
                    "ready": True,
                    "restartCount": 0,
                    "image": spec.image,
                    "imageID": spec.image,  # required by the API's schema (lightkube checks)
                    "state": {"running": {"startedAt": started}},
                }
            ],
        },
    }


def log_path(instances: RunningInstances, namespace: str, name: str) -> Path | None:
    """The log file of the running instance named ``name``, if there is one."""
    for key in instances.revision_keys():
        if key.namespace == namespace:
            for instance in instances.ready_instances(key):
                if instance.id == name:
                    return instance.log_path
    return None


class PodMirror:
    """Keeps the API's Pods equal to the data plane's ready instances."""

    def __init__(
        self,
        api: ResourceService,
        instances: RunningInstances,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._api = api
        self._instances = instances
        self._clock = clock
        self._dirty: set[RevisionKey] = set()
        self._woken = asyncio.Event()

    def changed(self, key: RevisionKey) -> None:
        """The data plane's view of ``key`` changed: mirror it soon."""
        self._dirty.add(key)
        self._woken.set()

    async def run(self) -> None:
        """Mirror what changed as it changes, and everything now and then."""
        self._dirty.update(self._instances.revision_keys())
        await self._sweep_strays()
        while True:
            try:
                async with asyncio.timeout(RESYNC_SECONDS):
                    await self._woken.wait()
            except TimeoutError:
                self._dirty.update(self._instances.revision_keys())
                await self._sweep_strays()
            self._woken.clear()
            dirty, self._dirty = self._dirty, set()
            for key in dirty:
                await self._mirror(key)

    async def _mirror(self, key: RevisionKey) -> None:
        pods = self._api.registry.get(kinds.POD.group_resource)
        revision_rt = self._api.registry.get(kinds.REVISION.group_resource)
        selector = f"{REVISION_LABEL}={key.name}"
        listed = await self._api.list(pods, namespace=key.namespace, label_selector=selector)
        existing = {item["metadata"]["name"] for item in listed["items"]}
        ready = {instance.id: instance for instance in self._instances.ready_instances(key)}
        for name in existing - ready.keys():
            await self._delete(pods, key.namespace, name)
        if not ready.keys() - existing:
            return
        try:
            revision = await self._api.get(revision_rt, name=key.name, namespace=key.namespace)
        except errors.ApiError:
            return  # being deleted: its pods go with it
        for name in ready.keys() - existing:
            pod = pod_of(ready[name], revision=revision, now=self._clock())
            try:
                created = await self._api.create(pods, pod, namespace=key.namespace)
                await self._api.update(  # a create keeps no status, as in Kubernetes
                    pods, {**created, "status": pod["status"]}, name=name,
                    namespace=key.namespace, subresource="status",
                )  # fmt: skip
            except errors.ApiError as error:
                log.debug("pod %s not mirrored: %s", name, error)

    async def _sweep_strays(self) -> None:
        """Pods of instances this platform no longer runs (left by a crashed one)."""
        pods = self._api.registry.get(kinds.POD.group_resource)
        running = {
            (key.namespace, instance.id)
            for key in self._instances.revision_keys()
            for instance in self._instances.ready_instances(key)
        }
        for item in (await self._api.list(pods))["items"]:
            metadata = item["metadata"]
            if (metadata["namespace"], metadata["name"]) not in running:
                await self._delete(pods, metadata["namespace"], metadata["name"])

    async def _delete(self, pods: Any, namespace: str, name: str) -> None:
        try:
            await self._api.delete(pods, name=name, namespace=namespace)
        except errors.ApiError as error:  # gone already
            log.debug("pod %s not removed: %s", name, error)


def log_routes(find: Callable[[str, str], Path | None]) -> list[Route]:
    """``GET /api/v1/namespaces/{namespace}/pods/{name}/log``, as ``kubectl logs`` asks;
    ``find(namespace, name)`` is the instance's log file."""

    async def pod_log(request: Request) -> Response:
        namespace, name = request.path_params["namespace"], request.path_params["name"]
        path = find(namespace, name)
        if path is None:
            raise errors.not_found(group="", plural="pods", name=name)
        tail = request.query_params.get("tailLines")
        lines = logfiles.tail(path, int(tail), since=0) if tail and tail.isdigit() else None
        if request.query_params.get("follow") in ("true", "1"):
            return StreamingResponse(_follow(path, lines), media_type="text/plain")
        text = "\n".join(lines) if lines is not None else path.read_text(errors="replace")
        return PlainTextResponse(text if text.endswith("\n") or not text else text + "\n")

    return [Route("/api/v1/namespaces/{namespace}/pods/{name}/log", pod_log)]


async def _follow(path: Path, first: list[str] | None) -> AsyncIterator[str]:
    with path.open(errors="replace") as handle:
        if first is None:
            yield handle.read()
        else:
            handle.seek(0, 2)
            yield "".join(f"{line}\n" for line in first)
        while True:
            chunk = handle.read()
            if chunk:
                yield chunk
            else:
                await asyncio.sleep(0.25)
