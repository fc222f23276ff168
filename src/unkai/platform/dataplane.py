"""The data plane: revisions become instances, instances become gateway endpoints.

:class:`DataPlane` joins the parts that each stand alone: it registers every revision
with the autoscaler it is handed (and re-registers it when its reachability changes),
drives that autoscaler as its :class:`~unkai.platform.autoscaler.Scaler` and
:class:`~unkai.platform.autoscaler.ReadyPods`, keeps one :class:`RevisionInstances`
per revision, and answers the controllers as their
:class:`~unkai.platform.contracts.RevisionReadiness`. A revision
runs on the process runner when its image is a bundle reference and on the container
runner otherwise.

It also keeps the platform's ConfigMaps and Secrets (``sources_changed``, fed by a
watch): a revision's ``env``/``envFrom`` are resolved from them when it is first run,
and its volumes are written under ``volumes/{namespace}/{revision}/`` and written again
whenever a source they name changes. A revision that names a missing source waits,
``False`` with the kubelet's reason, and is tried again when the source appears.
What the instance cannot serve (an ``h2c`` port on a function that is not a gRPC one,
or the other way round) fails the revision with a reason that says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Histogram

from unkai.platform import bundles
from unkai.platform.autoscaler import Activity, Autoscaler, AutoscalerConfig, revision_spec
from unkai.platform.contracts import (
    DEPLOYING,
    PERMANENT,
    Reason,
    Report,
    RevisionHealth,
    RevisionKey,
    Status,
)
from unkai.platform.gateway import Gateway, RevisionSettings
from unkai.platform.instances import FailuresCollector, RevisionInstances
from unkai.platform.logs import RevisionEvents
from unkai.platform.runners import (
    Instance,
    InstanceSpec,
    LogFiles,
    Runner,
    RunnerError,
    from_revision,
)
from unkai.platform.runners import sources as env_sources
from unkai.platform.runners import volumes as volume_files

log = logging.getLogger("unkai.dataplane")
ACTIVE_CONDITION: dict[Activity, Status] = {
    Activity.ACTIVE: "True",
    Activity.INACTIVE: "False",
    Activity.ACTIVATING: "Unknown",
}
STARTS_AT_ONCE = 8
"""Instances starting at the same time, platform-wide: a thousand revisions applied at
once (or a thousand unpullable images) must not become a thousand processes at once."""
COLD_START_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class DataPlane:
    """Every revision's instances, scaled by the autoscaler and served by the gateway."""

    def __init__(
        self,
        *,
        gateway: Gateway,
        autoscaler: Autoscaler,
        process_runner: Runner,
        container_runner: Runner,
        bundle_store: bundles.NamespacedBundles,
        autoscaler_config: AutoscalerConfig,
        registry: CollectorRegistry,
        notify: Callable[[RevisionKey], None],
        volumes: Path,
        logs: LogFiles | None = None,
    ) -> None:
        self.gateway = gateway
        self._logs = logs  # where the platform's own lines about a revision go
        self.autoscaler = autoscaler
        autoscaler.drive(scaler=self, pods=self)
        self._config = autoscaler_config
        self._process_runner = process_runner
        self._container_runner = container_runner
        self._bundles = bundle_store
        self._notify = notify
        self._revisions: dict[RevisionKey, RevisionInstances] = {}
        self._annotations: dict[RevisionKey, dict[str, str]] = {}
        self._reachable: set[RevisionKey] = set()
        self._unresolved: dict[RevisionKey, Report] = {}
        self._objects: dict[RevisionKey, dict[str, Any]] = {}
        self._volumes = volumes
        self.sources = env_sources.Sources()
        self._starts = asyncio.Semaphore(STARTS_AT_ONCE)
        self._closing: set[asyncio.Task[None]] = set()
        self._cold_starts = Histogram(
            "unkai_revision_cold_start_seconds",
            "From asking for the first instance of a revision at zero to its being ready.",
            ["namespace", "revision"],
            buckets=COLD_START_BUCKETS,
            registry=registry,
        )
        registry.register(FailuresCollector(lambda: self._revisions.values()))

    # -- revisions come and go (from the revisions watch) --------------------------------

    def upsert(self, revision: dict[str, Any], *, resumed: bool = False) -> None:
        """A revision exists: new, or ``resumed`` — it existed and was ready before the
        platform started, so it stays ready (as a Knative revision scaled to zero does)
        and starts at zero instances rather than its initial scale."""
        metadata = revision["metadata"]
        key = RevisionKey(metadata["namespace"], metadata["name"])
        if key in self._revisions or key in self._unresolved:
            return
        self._objects[key] = revision
        try:
            spec, runner = self._resolve(revision)
        except (bundles.BundleNotFoundError, bundles.BundleError) as error:
            self._unresolved[key] = Report("False", Reason.BUNDLE_MISSING, str(error))
            self._notify(key)
            return
        except RunnerError as error:
            self._unresolved[key] = Report("False", error.reason, error.message)
            self._notify(key)
            return
        self.gateway.configure_revision(key, _settings(revision))
        self._revisions[key] = RevisionInstances(
            spec, runner=runner, gateway=self.gateway, cold_starts=self._cold_starts,
            starts=self._starts, changed=lambda: self._notify(key),
            events=None if self._logs is None else RevisionEvents(self._logs.folder(spec)),
        )  # fmt: skip
        if resumed:
            self._revisions[key].healthy = self._revisions[key].resources = Report("True")
        self._revisions[key].set_routed(key in self._reachable)
        self._annotations[key] = dict(metadata.get("annotations") or {})
        self._register(key, resumed=resumed)

    def remove(self, namespace: str, name: str) -> None:
        """A revision is gone: forget it at once, and stop its instances in the
        background. They drain for up to their grace period (``timeoutSeconds``, up to
        minutes); waiting for that here held up every revision created meanwhile."""
        key = RevisionKey(namespace, name)
        self._unresolved.pop(key, None)
        self._annotations.pop(key, None)
        self._objects.pop(key, None)
        instances = self._revisions.pop(key, None)
        if instances is not None:
            self.autoscaler.unregister(key)
            closing = asyncio.create_task(self._close(key, instances), name=f"closing {key}")
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        else:
            shutil.rmtree(self._volumes / namespace / name, ignore_errors=True)

    async def _close(self, key: RevisionKey, instances: RevisionInstances) -> None:
        try:
            await instances.close()
        except Exception:
            log.exception("revision %s: stopping its instances failed", key)
        with contextlib.suppress(KeyError):  # no series if it never started cold
            self._cold_starts.remove(*key)
        shutil.rmtree(self._volumes / key.namespace / key.name, ignore_errors=True)

    def sources_changed(
        self, kind: env_sources.Kind, obj: Mapping[str, Any], *, deleted: bool = False
    ) -> None:
        """A ConfigMap or Secret was written or deleted: revisions that name it get their
        volumes written again, and those that waited for it are tried again."""
        source = self.sources.drop(kind, obj) if deleted else self.sources.put(kind, obj)
        self._source_changed(source)

    def sources_listed(self, kind: env_sources.Kind, objs: Iterable[Mapping[str, Any]]) -> None:
        """The full list of ConfigMaps (or Secrets), as a watch (re)starts: those that went
        away while nobody watched are dropped too."""
        listed = {self.sources.put(kind, obj) for obj in objs}
        for source in [*self.sources.keep_only(kind, listed), *listed]:
            self._source_changed(source)

    def _source_changed(self, source: env_sources.SourceKey) -> None:
        for key, revision in list(self._objects.items()):
            if source not in env_sources.referenced(revision):
                continue
            if key in self._unresolved:
                if self._unresolved[key].reason not in PERMANENT:
                    del self._unresolved[key]
                    self.upsert(revision)
                continue
            try:
                self._write_volumes(revision)
            except RunnerError as error:  # a kubelet keeps the old files too
                log.warning("revision %s: volumes not updated: %s", key, error.message)

    def set_reachable(self, keys: Iterable[RevisionKey]) -> None:
        """Revisions some route sends traffic to; the others may scale to zero at once."""
        reachable = set(keys)
        changed = reachable ^ self._reachable
        self._reachable = reachable
        for key in changed & set(self._revisions):
            self._revisions[key].set_routed(key in reachable)
            self._register(key)

    def configure(self, config: AutoscalerConfig) -> None:
        """New ``config-autoscaler`` settings: every revision is scaled by them from now."""
        if config == self._config:
            return
        self._config = config
        for key in self._revisions:
            self._register(key)

    async def close(self) -> None:
        """Stop every instance, then the runners (zygotes, container engine)."""
        for key in list(self._revisions):
            self.remove(*key)
        await asyncio.gather(*self._closing)
        await self._process_runner.close()
        await self._container_runner.close()

    # -- the autoscaler's ports ----------------------------------------------------------

    async def scale(self, key: RevisionKey, desired: int) -> None:
        instances = self._revisions.get(key)
        if instances is not None:
            instances.scale(desired)

    def ready(self, key: RevisionKey) -> int:
        """Instances that serve: one whose readiness probe fails does not count."""
        instances = self._revisions.get(key)
        return sum(i.serving for i in instances.ready) if instances is not None else 0

    # -- what the Pod view shows ---------------------------------------------------------

    def revision_keys(self) -> list[RevisionKey]:
        return list(self._revisions)

    def ready_instances(self, key: RevisionKey) -> list[Instance]:
        instances = self._revisions.get(key)
        return list(instances.ready) if instances is not None else []

    # -- the controllers' port -----------------------------------------------------------

    def health(self, *, namespace: str, name: str) -> RevisionHealth | None:
        key = RevisionKey(namespace, name)
        if key in self._unresolved:
            return RevisionHealth(self._unresolved[key], DEPLOYING)
        instances = self._revisions.get(key)
        if instances is None:
            return None
        status = self.autoscaler.status(key)
        active = None
        if status is not None:
            condition = ACTIVE_CONDITION[status.activity]
            active = Report(condition, status.reason, status.message)
        return RevisionHealth(
            resources_available=instances.resources,
            container_healthy=instances.healthy,
            active=active,
            actual_replicas=self.ready(key),
            desired_replicas=instances.desired,
        )

    # -- internals -----------------------------------------------------------------------

    def _resolve(self, revision: dict[str, Any]) -> tuple[InstanceSpec, Runner]:
        """The revision's spec and runner; :class:`RunnerError` when it cannot run (yet)."""
        image = str((revision["spec"].get("containers") or [{}])[0].get("image", ""))
        reference = bundles.parse_reference(image)
        namespace = revision["metadata"]["namespace"]  # the Revision's, never the image's
        bundle = None if reference is None else self._bundles.of(namespace).path(reference.digest)
        env = env_sources.environment(revision, self.sources)
        directory = self._write_volumes(revision)
        spec = from_revision(revision, bundle=bundle, env=env, volumes_dir=directory)
        _refuse_unsupported(spec)
        runner = self._container_runner if bundle is None else self._process_runner
        return spec, runner

    def _write_volumes(self, revision: dict[str, Any]) -> Path:
        """Write the revision's volumes (see ``runners.volumes``); their directory."""
        metadata = revision["metadata"]
        self._volumes.mkdir(mode=0o700, parents=True, exist_ok=True)  # Secrets live below
        directory: Path = self._volumes / metadata["namespace"] / metadata["name"]
        for name, content in volume_files.files(revision, self.sources).items():
            volume_files.write(directory / name, content)
        return directory

    def _register(self, key: RevisionKey, *, resumed: bool = False) -> None:
        instances = self._revisions[key]
        spec = revision_spec(
            self._annotations[key],
            container_concurrency=instances.spec.container_concurrency,
            config=self._config,
            reachable=key in self._reachable,
        )
        self.autoscaler.register(key, spec, resumed=resumed)


def _refuse_unsupported(spec: InstanceSpec) -> None:
    """What the instance cannot serve fails the revision rather than being ignored.

    The gateway relays HTTP/2 to an ``h2c`` port and HTTP/1.1 to any other (it does not
    translate, see docs/gateway.md). An image serves what it serves; a bundle's runtime
    serves h2c for ``signature: grpc`` only, and only h2c for it, so the port's name
    and the function's signature must agree.
    """
    if spec.bundle is None:
        return
    from unkai.api.funcyaml import Signature  # late: pydantic, which `unkai up` idle lacks
    from unkai.runtime import LoadError, load_spec  # late: the function runtime, likewise

    try:
        signature = load_spec(spec.bundle).signature
    except LoadError:
        return  # the runner reports a bad func.yaml (FunctionInvalid) when it prepares
    grpc = signature is Signature.GRPC
    if spec.protocol == "h2c" and not grpc:
        raise RunnerError(
            Reason.PROTOCOL_UNSUPPORTED,
            f"port name h2c (HTTP/2 cleartext) needs a gRPC function (`signature: grpc` in"
            f" func.yaml); this function's signature is {signature or 'detected'}, served"
            " over HTTP/1.1: name the port http1 or leave the name out",
        )
    if grpc and spec.protocol != "h2c":
        raise RunnerError(
            Reason.PROTOCOL_UNSUPPORTED,
            "signature grpc serves HTTP/2 cleartext only: name the container port h2c"
            " (ports: [{name: h2c}])",
        )


def _settings(revision: dict[str, Any]) -> RevisionSettings:
    spec = revision["spec"]
    timeout = float(spec.get("timeoutSeconds") or 300)
    start = spec.get("responseStartTimeoutSeconds")
    ports = (spec.get("containers") or [{}])[0].get("ports") or [{}]
    return RevisionSettings(
        h2c=ports[0].get("name") == "h2c",
        container_concurrency=int(spec.get("containerConcurrency") or 0),
        timeout=timeout,
        response_start_timeout=float(start) if start is not None else None,
        idle_timeout=float(spec.get("idleTimeoutSeconds") or 0),
    )
