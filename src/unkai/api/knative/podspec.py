"""The pod spec inside a Revision: one container, its image, env, port and probes.

Knative narrows Kubernetes' PodSpec to what its runtime contract supports
(``pkg/apis/serving/k8s_validation.go``, ``fieldmask.go``). Unkai keeps the same
narrowing, plus one rule of its own: a revision runs exactly one container, because
an instance is one process (Knative enables multi-container by default; its message
for the switched-off feature is reused). The pod fields Knative puts behind feature
flags (``affinity``, ``nodeSelector``, ``tolerations``, ``securityContext``,
``initContainers``, ``hostNetwork``, ``dnsPolicy``…, see the CRD's "accessible behind
a feature flag" notes) are all off by default, and Unkai has no flags to turn them on.
"""

from __future__ import annotations

import re
from typing import Any

from unkai.api.contract import RESERVED_ENV
from unkai.api.knative import problems
from unkai.api.knative.fields import Node
from unkai.api.knative.names import dns1123_subdomain
from unkai.api.yamlsource import Problem

USER_CONTAINER = "user-container"
RESERVED_CONTAINER_NAMES = ("queue-proxy",)
# queue-proxy h1/h2c, queue admin, autoscaler metrics, user metrics, profiling.
RESERVED_PORTS = (8012, 8013, 8022, 9090, 9091, 8008)
PORT_NAMES = ("", "h2c", "http1")
PROBE_HANDLERS = ("httpGet", "tcpSocket", "exec", "grpc")

CONTAINER_FIELDS = frozenset(
    {
        "args",
        "command",
        "env",
        "envFrom",
        "image",
        "imagePullPolicy",
        "livenessProbe",
        "name",
        "ports",
        "readinessProbe",
        "resources",
        "securityContext",
        "startupProbe",
        "terminationMessagePath",
        "terminationMessagePolicy",
        "volumeMounts",
        "workingDir",
    }
)
PORT_FIELDS = frozenset({"containerPort", "name", "protocol"})
# PodSpecMask's fields with Knative's default features (automountServiceAccountToken: false only).
POD_FIELDS = frozenset(
    {
        "automountServiceAccountToken",
        "containers",
        "enableServiceLinks",
        "imagePullSecrets",
        "serviceAccountName",
        "volumes",
    }
)

# A pragmatic form of the distribution reference grammar: [host[:port]/]path[:tag][@digest].
_IMAGE = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::\d+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)


def default(pod: dict[str, Any]) -> None:
    """Name the container, give it Knative's TCP readiness probe, no service links."""
    pod.setdefault("enableServiceLinks", False)
    containers = pod.get("containers")
    if not isinstance(containers, list) or len(containers) != 1:
        return
    container = containers[0]
    if not isinstance(container, dict):
        return
    if not container.get("name"):
        container["name"] = USER_CONTAINER
    probe = container.setdefault("readinessProbe", {})
    if isinstance(probe, dict):
        if not any(handler in probe for handler in PROBE_HANDLERS):
            probe["tcpSocket"] = {"port": 0}
        if not probe.get("successThreshold"):
            probe["successThreshold"] = 1


def validate(spec: Node) -> None:
    """Check the pod-spec part of a RevisionSpec (``spec`` is the RevisionSpec node).

    Which fields the RevisionSpec may hold is checked by the caller, which knows its own.
    """
    containers = list(spec.at("containers").items())
    if not containers:
        spec.report(problems.missing_field((*spec.path, "containers")))
    elif len(containers) > 1:
        message = f"multi-container is off, but found {len(containers)} containers"
        spec.report(Problem(spec.at("containers").path, message))
    else:
        _validate_container(containers[0])
    account = spec.at("serviceAccountName").string()
    for error in dns1123_subdomain(account) if account else []:
        spec.report(problems.invalid_value(account, spec.at("serviceAccountName").path, error))
    automount = spec.at("automountServiceAccountToken")
    if automount.boolean():
        spec.report(problems.disallowed_field(automount.path))


def _validate_container(container: Node) -> None:
    if not container.mapping():
        container.report(problems.missing_field(container.path))
        return
    container.allow_only(CONTAINER_FIELDS)
    name = container.at("name").string()
    if name in RESERVED_CONTAINER_NAMES:
        container.report(
            Problem((*container.path, "name"), f'"{name}" is a reserved container name')
        )
    image = container.at("image")
    if not image.string():
        container.report(problems.missing_field(image.path))
    elif _IMAGE.fullmatch(image.string()) is None:
        details = f'image: "{image.string()}", error: could not parse reference'
        container.report(Problem(image.path, f"Failed to parse image reference: {details}"))
    for env in container.at("env").items():
        _validate_env(env)
    ports = list(container.at("ports").items())
    if len(ports) > 1:
        message = (
            "more than one container port is set: "
            "Only a single port is allowed across all containers"
        )
        container.report(Problem(container.at("ports").path, message))
    for port in ports[:1]:
        _validate_port(port)
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        if container.at(probe).present():
            _validate_probe(container.at(probe))


def _validate_env(env: Node) -> None:
    name = env.at("name").string()
    if not name:
        env.report(problems.missing_field(env.at("name").path))
    elif name in RESERVED_ENV:
        env.report(Problem(env.at("name").path, f'"{name}" is a reserved environment variable'))


def _validate_port(port: Node) -> None:
    port.allow_only(PORT_FIELDS)
    number = port.at("containerPort").integer()
    if number in RESERVED_PORTS:
        details = f"{number} is a reserved port, please use a different value"
        port.report(
            problems.invalid_value(
                f"{number} is a reserved port", port.at("containerPort").path, details
            )
        )
    elif number is not None and not 0 <= number <= 65535:
        port.report(problems.out_of_bounds(number, 0, 65535, port.at("containerPort").path))
    protocol = port.at("protocol").string()
    if protocol not in ("", "TCP"):
        port.report(problems.invalid_value(protocol, port.at("protocol").path))
    name = port.at("name").string()
    if name not in PORT_NAMES:
        message = f"Port name {name} is not allowed: Name must be empty, or one of: 'h2c', 'http1'"
        port.report(Problem(port.path, message))


def _validate_probe(probe: Node) -> None:
    handlers = [handler for handler in PROBE_HANDLERS if probe.at(handler).present()]
    if not handlers:
        probe.report(problems.missing_one_of(probe.path, PROBE_HANDLERS))
    elif len(handlers) > 1:
        probe.report(problems.multiple_one_of(probe.path, handlers))
