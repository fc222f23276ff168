"""What the data plane asks a runner to run: one revision's instance, as :class:`InstanceSpec`.

The fields come from the Revision (Knative's runtime contract): the names that become
``K_SERVICE``, ``K_CONFIGURATION`` and ``K_REVISION``, the container's ``env`` (with
``valueFrom`` and ``envFrom`` resolved, see ``sources``), ``command``, ``args``,
``workingDir``, its port and protocol, its probes and volume mounts,
``containerConcurrency``, and ``timeoutSeconds``, which Knative also uses as the pod's
termination grace period. :func:`from_revision` reads them from a Revision object.

An instance's environment is the contract's and the container's only, on top of
:func:`base_environment`: never the platform's own, which holds what a function must
not see (``UNKAI_DATA_DIR``, the user's ``HOME`` with its kubeconfig, credentials of
whoever started ``unkai up``), as a container on Kubernetes sees nothing of the kubelet.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from unkai.platform.contracts import RevisionKey
from unkai.platform.runners import probing
from unkai.platform.runners.probing import Probe

DEFAULT_READINESS_PATH: Final = "/health/readiness"
DEFAULT_TIMEOUT_SECONDS: Final = 300
DEFAULT_CONTAINER_PORT: Final = 8080
DEFAULT_READINESS: Final = Probe(
    "httpGet", path=DEFAULT_READINESS_PATH, period=probing.AGGRESSIVE_AFTER_START, aggressive=True
)
"""The runtime's own readiness endpoint, probed as Knative probes by default."""
BASE_ENVIRONMENT: Final = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
}
"""What every instance's environment starts from: the ``PATH`` container runtimes set
by default, a ``HOME`` the function may write to (the sandbox's private ``/tmp``) and a
UTF-8 locale."""


def base_environment(platform: Mapping[str, str]) -> dict[str, str]:
    """:data:`BASE_ENVIRONMENT`, plus the ``platform``'s ``PYTHONPATH`` when it has one:
    the instance runs the platform's interpreter and imports Unkai's runtime from where
    the platform does; nothing else of ``platform`` is passed on.

    Its entries are made absolute here: a relative one (``PYTHONPATH=.``) means the
    platform's working directory, which the instance does not share (it starts in its
    bundle), and the sandbox cannot bind a relative path where it belongs."""
    env = dict(BASE_ENVIRONMENT)
    if python_path := platform.get("PYTHONPATH"):
        entries = python_path.split(os.pathsep)
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(e) for e in entries if e)
    return env


INTERNAL_GATEWAY: Final = "K_INTERNAL_GATEWAY"


def internal_gateway_env(port: int) -> dict[str, str]:
    """How an instance reaches other services by their cluster-local names: the URL of the
    gateway's internal listener, ``K_INTERNAL_GATEWAY``, to be used as an HTTP proxy
    for ``*.svc.cluster.local`` URLs (it routes a request by the host of its absolute
    URL, as a proxy is sent) or called with that name as ``Host``. A proxy variable
    (``http_proxy``) is not set: it would send every plain-HTTP call there, the
    internet's too, and there is no variable that proxies some names only; nor is a
    resolver, as the listener is not on port 80. See docs/runners.md."""
    return {INTERNAL_GATEWAY: f"http://127.0.0.1:{port}"}


@dataclass(frozen=True)
class Mount:
    """A volume at ``mount_path`` inside the instance; its files are materialised in
    ``InstanceSpec.volumes_dir / volume`` (see ``volumes``)."""

    volume: str
    mount_path: str
    read_only: bool = False
    sub_path: str = ""
    memory: bool = False
    size_limit: str = ""
    """``emptyDir``'s ``medium: Memory`` (a tmpfs) and ``sizeLimit`` (a quantity)."""


@dataclass(frozen=True)
class InstanceSpec:
    """One revision's recipe for instances; every instance of the revision gets the same.

    ``bundle`` is the unpacked bundle directory (process runner); ``image`` the image
    reference (container runner, or for the record). ``readiness`` is the probe that
    says the instance may serve (TCP is Knative's default for an image; a bundle is
    probed at the runtime's readiness endpoint, which also fails while it drains).
    ``protocol`` is ``http1`` or ``h2c`` (the port's name). ``resources`` is the
    container's (limits are read by the runner, see ``limits``); ``run_as_user``,
    ``run_as_group`` and ``run_as_non_root`` are its ``securityContext``'s, for the sandbox.
    """

    namespace: str
    revision: str
    configuration: str
    service: str = ""
    image: str = ""
    bundle: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    container_concurrency: int = 0
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    readiness: Probe | None = DEFAULT_READINESS
    liveness: Probe | None = None
    container_port: int = DEFAULT_CONTAINER_PORT
    protocol: str = "http1"
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    working_dir: str = ""
    mounts: tuple[Mount, ...] = ()
    volumes_dir: Path | None = None
    resources: Mapping[str, Any] = field(default_factory=dict)
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool = False

    @property
    def key(self) -> RevisionKey:
        return RevisionKey(self.namespace, self.revision)

    @property
    def grace_period(self) -> float:
        """How long a stopping instance may drain before it is killed (``timeoutSeconds``)."""
        return self.timeout_seconds

    @property
    def owner(self) -> str:
        """The service (or, for a bare Configuration, the configuration) it belongs to."""
        return self.service or self.configuration

    def contract_env(self, *, port: int | None = None) -> dict[str, str]:
        """The runtime contract's variables: ``PORT`` (when known) and ``K_*`` (no
        ``K_SERVICE`` for a revision that no Service owns)."""
        env = {"K_CONFIGURATION": self.configuration, "K_REVISION": self.revision}
        if self.service:
            env["K_SERVICE"] = self.service
        if port is not None:
            env["PORT"] = str(port)
        return env


def from_revision(
    revision: Mapping[str, Any],
    *,
    bundle: Path | None = None,
    env: Mapping[str, str] | None = None,
    volumes_dir: Path | None = None,
) -> InstanceSpec:
    """The instance spec of a (defaulted) Revision object; ``bundle`` as resolved by the
    caller, ``env`` its container's environment as resolved by the caller
    (``sources.environment``: ``valueFrom`` and ``envFrom`` need the ConfigMaps and
    Secrets), ``volumes_dir`` where its volumes are materialised.

    A bundle's instances are probed at the runtime's ``/health/readiness`` where the
    container asks for a TCP probe (Knative's default): the runtime answers there once
    it serves, so it is the same check, and it also fails while the instance drains;
    a gRPC function's (port ``h2c``) at its standard health service, which does the same.
    """
    metadata = revision.get("metadata") or {}
    labels = metadata.get("labels") or {}
    spec = revision.get("spec") or {}
    container = (spec.get("containers") or [{}])[0]
    ports = container.get("ports") or [{}]
    readiness = probing.parse(container.get("readinessProbe"), readiness=True)
    h2c = ports[0].get("name") == "h2c"
    if bundle is not None and (readiness is None or readiness.handler == "tcpSocket"):
        # a gRPC function (h2c) answers the standard gRPC health check instead
        readiness = replace(readiness or DEFAULT_READINESS, handler="grpc" if h2c else "httpGet",
                            path=DEFAULT_READINESS_PATH)  # fmt: skip
    security = container.get("securityContext") or {}
    name = metadata["name"]
    return InstanceSpec(
        namespace=metadata.get("namespace", "default"),
        revision=name,
        configuration=labels.get("serving.knative.dev/configuration", name),
        service=labels.get("serving.knative.dev/service", ""),
        image=container.get("image", ""),
        bundle=bundle,
        env=dict(env or {}),
        container_concurrency=int(spec.get("containerConcurrency") or 0),
        timeout_seconds=float(spec.get("timeoutSeconds") or DEFAULT_TIMEOUT_SECONDS),
        readiness=readiness,
        liveness=probing.parse(container.get("livenessProbe"), readiness=False),
        container_port=int(ports[0].get("containerPort") or DEFAULT_CONTAINER_PORT),
        protocol="h2c" if h2c else "http1",
        command=tuple(str(part) for part in container.get("command") or ()),
        args=tuple(str(part) for part in container.get("args") or ()),
        working_dir=str(container.get("workingDir") or ""),
        mounts=tuple(_mount(mount, spec) for mount in container.get("volumeMounts") or []),
        volumes_dir=volumes_dir,
        resources=container.get("resources") or {},
        run_as_user=security.get("runAsUser"),
        run_as_group=security.get("runAsGroup"),
        run_as_non_root=bool(security.get("runAsNonRoot")),
    )


def _mount(mount: Mapping[str, Any], spec: Mapping[str, Any]) -> Mount:
    name = str(mount.get("name", ""))
    volume: Mapping[str, Any] = next(
        (v for v in spec.get("volumes") or [] if v.get("name") == name), {}
    )
    empty_dir = volume.get("emptyDir") or {}
    return Mount(
        volume=name,
        mount_path=str(mount.get("mountPath", "")),
        read_only=bool(mount.get("readOnly", False)),
        sub_path=str(mount.get("subPath") or ""),
        memory=empty_dir.get("medium") == "Memory",
        size_limit=str(empty_dir.get("sizeLimit") or ""),
    )
