"""What the data plane asks a runner to run: one revision's instance, as :class:`InstanceSpec`.

The fields come from the Revision (Knative's runtime contract): the names that become
``K_SERVICE``, ``K_CONFIGURATION`` and ``K_REVISION``, the container's ``env``,
``containerConcurrency``, and ``timeoutSeconds``, which Knative also uses as the pod's
termination grace period. :func:`from_revision` reads them from a Revision object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from unkai.platform.contracts import RevisionKey

DEFAULT_READINESS_PATH: Final = "/health/readiness"
DEFAULT_TIMEOUT_SECONDS: Final = 300
DEFAULT_CONTAINER_PORT: Final = 8080


@dataclass(frozen=True)
class InstanceSpec:
    """One revision's recipe for instances; every instance of the revision gets the same.

    ``bundle`` is the unpacked bundle directory (process runner); ``image`` the image
    reference (container runner, or for the record). ``readiness_path`` ``None`` means a
    TCP probe, Knative's default for a container without an HTTP probe. ``resources``
    is the container's (limits are read by the runner, see ``limits``); ``run_as_user``,
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
    readiness_path: str | None = DEFAULT_READINESS_PATH
    container_port: int = DEFAULT_CONTAINER_PORT
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


def from_revision(revision: Mapping[str, Any], *, bundle: Path | None = None) -> InstanceSpec:
    """The instance spec of a (defaulted) Revision object; ``bundle`` as resolved by the caller.

    Env entries with ``valueFrom`` are skipped: the embedded platform has no Secrets or
    ConfigMaps to read them from. Without an HTTP readiness probe, instances of a bundle
    are probed at the runtime's ``/health/readiness`` and other images over TCP.
    """
    metadata = revision.get("metadata") or {}
    labels = metadata.get("labels") or {}
    spec = revision.get("spec") or {}
    container = (spec.get("containers") or [{}])[0]
    http_get = (container.get("readinessProbe") or {}).get("httpGet") or {}
    ports = container.get("ports") or [{}]
    security = container.get("securityContext") or {}
    name = metadata["name"]
    return InstanceSpec(
        namespace=metadata.get("namespace", "default"),
        revision=name,
        configuration=labels.get("serving.knative.dev/configuration", name),
        service=labels.get("serving.knative.dev/service", ""),
        image=container.get("image", ""),
        bundle=bundle,
        env={
            item["name"]: str(item["value"])
            for item in container.get("env") or []
            if "value" in item
        },
        container_concurrency=int(spec.get("containerConcurrency") or 0),
        timeout_seconds=float(spec.get("timeoutSeconds") or DEFAULT_TIMEOUT_SECONDS),
        readiness_path=http_get.get("path")
        or (DEFAULT_READINESS_PATH if bundle is not None else None),
        container_port=int(ports[0].get("containerPort") or DEFAULT_CONTAINER_PORT),
        resources=container.get("resources") or {},
        run_as_user=security.get("runAsUser"),
        run_as_group=security.get("runAsGroup"),
        run_as_non_root=bool(security.get("runAsNonRoot")),
    )
