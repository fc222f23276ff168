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

import posixpath
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
# Knative's VolumeMountMask (mountPropagation is refused), VolumeSourceMask with the
# default features (emptyDir on; persistentVolumeClaim and hostPath behind flags).
VOLUME_MOUNT_FIELDS = frozenset({"mountPath", "name", "readOnly", "subPath"})
VOLUME_KINDS = ("configMap", "emptyDir", "projected", "secret")
RESERVED_MOUNT_PATHS = frozenset({"/", "/dev", "/dev/log", "/tmp", "/var", "/var/log"})
ENV_FROM_FIELDS = frozenset({"configMapRef", "prefix", "secretRef"})
# EnvVarSourceMask; fieldRef as with kubernetes.podspec-fieldref enabled (knative-compat.md).
ENV_SOURCES = ("configMapKeyRef", "fieldRef", "secretKeyRef")
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

# Knative's SecurityContextMask with default features; capabilities.add is behind
# kubernetes.containerspec-addcapabilities, off by default.
SECURITY_CONTEXT_FIELDS = frozenset(
    {
        "allowPrivilegeEscalation",
        "capabilities",
        "readOnlyRootFilesystem",
        "runAsGroup",
        "runAsNonRoot",
        "runAsUser",
        "seccompProfile",
    }
)
CAPABILITIES_FIELDS = frozenset({"drop"})
MAX_ID = 2**31 - 1
RESOURCES_FIELDS = frozenset({"limits", "requests"})
# Kubernetes' quantity grammar (resource.ParseQuantity) and its message for a bad one.
_QUANTITY = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?")
QUANTITY_MESSAGE = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
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
        mounted = _validate_container(containers[0], _volumes(spec))
        for index, volume in enumerate(spec.at("volumes").items()):
            name = volume.at("name").string()
            if name and name not in mounted:
                message = f'volume with name "{name}" not mounted'
                spec.report(Problem((*spec.path, "volumes", index, "name"), message))
    account = spec.at("serviceAccountName").string()
    for error in dns1123_subdomain(account) if account else []:
        spec.report(problems.invalid_value(account, spec.at("serviceAccountName").path, error))
    automount = spec.at("automountServiceAccountToken")
    if automount.boolean():
        spec.report(problems.disallowed_field(automount.path))


def _volumes(spec: Node) -> dict[str, str]:
    """Check ``volumes``; each valid volume's name and kind."""
    found: dict[str, str] = {}
    for volume in spec.at("volumes").items():
        volume.allow_only({"name", *VOLUME_KINDS})
        name = volume.at("name").string()
        if not name:
            volume.report(problems.missing_field(volume.at("name").path))
        elif name in found:
            volume.report(problems.invalid_value(f'"{name}"', volume.at("name").path,
                                                 "duplicate volume name"))  # fmt: skip
        kinds = [kind for kind in VOLUME_KINDS if volume.at(kind).present()]
        if not kinds:
            volume.report(problems.missing_one_of(volume.path, VOLUME_KINDS))
        elif len(kinds) > 1:
            volume.report(problems.multiple_one_of(volume.path, kinds))
        elif name:
            found[name] = kinds[0]
    return found


def _validate_mounts(container: Node, volumes: dict[str, str]) -> set[str]:
    """Check ``volumeMounts`` against the pod's volumes; the names mounted."""
    mounted: set[str] = set()
    paths: set[str] = set()
    for mount in container.at("volumeMounts").items():
        mount.allow_only(VOLUME_MOUNT_FIELDS)
        name = mount.at("name").string()
        mounted.add(name)
        if name not in volumes:
            mount.report(Problem(mount.at("name").path, "volumeMount has no matching volume"))
        path = mount.at("mountPath").string()
        clean = posixpath.normpath(path) if path else ""
        if not path:
            mount.report(problems.missing_field(mount.at("mountPath").path))
        elif clean in RESERVED_MOUNT_PATHS:
            message = f'mountPath "{clean}" is a reserved path'
            mount.report(Problem(mount.at("mountPath").path, message))
        elif not posixpath.isabs(path):
            mount.report(problems.invalid_value(path, mount.at("mountPath").path))
        elif clean in paths:
            mount.report(
                problems.invalid_value(f'"{path}" must be unique', mount.at("mountPath").path)
            )
        paths.add(clean)
        if volumes.get(name, "emptyDir") != "emptyDir" and not mount.at("readOnly").boolean():
            message = "volume mount should be readOnly for this type of volume"
            mount.report(Problem(mount.at("readOnly").path, message))
    return mounted


def _validate_container(container: Node, volumes: dict[str, str]) -> set[str]:
    """Check the container; the names of the volumes it mounts."""
    if not container.mapping():
        container.report(problems.missing_field(container.path))
        return set()
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
    for env_from in container.at("envFrom").items():
        env_from.allow_only(ENV_FROM_FIELDS)
        refs = [ref for ref in ("configMapRef", "secretRef") if env_from.at(ref).present()]
        if len(refs) != 1:
            make = problems.multiple_one_of if refs else problems.missing_one_of
            env_from.report(make(env_from.path, refs or ("configMapRef", "secretRef")))
    ports = list(container.at("ports").items())
    if len(ports) > 1:
        message = (
            "more than one container port is set: "
            "Only a single port is allowed across all containers"
        )
        container.report(Problem(container.at("ports").path, message))
    for port in ports[:1]:
        _validate_port(port)
    if container.at("securityContext").present():
        _validate_security_context(container.at("securityContext"))
    if container.at("resources").present():
        _validate_resources(container.at("resources"))
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        if container.at(probe).present():
            _validate_probe(container.at(probe), readiness=probe == "readinessProbe")
    return _validate_mounts(container, volumes)


def _validate_security_context(context: Node) -> None:
    """Knative's ``validateSecurityContext``: no ``privileged`` (nor other fields off
    its mask), no added capabilities, user and group ids in ``[0, 2^31-1]``."""
    context.allow_only(SECURITY_CONTEXT_FIELDS)
    if context.at("capabilities").present():
        context.at("capabilities").allow_only(CAPABILITIES_FIELDS)
    for key in ("runAsUser", "runAsGroup"):
        value = context.at(key).integer()
        if value is not None and not 0 <= value <= MAX_ID:
            context.report(problems.out_of_bounds(value, 0, MAX_ID, context.at(key).path))


def _validate_resources(resources: Node) -> None:
    """Every limit and request a Kubernetes quantity, and not negative."""
    resources.allow_only(RESOURCES_FIELDS)
    for key in ("limits", "requests"):
        amounts = resources.at(key)
        for name, value in amounts.mapping().items():
            path = (*amounts.path, name)
            text = str(value) if isinstance(value, (str, int, float)) else ""
            if _QUANTITY.fullmatch(text) is None:
                resources.report(Problem(path, QUANTITY_MESSAGE))
            elif text.startswith("-"):
                resources.report(Problem(path, "must be greater than or equal to 0"))


def _validate_env(env: Node) -> None:
    name = env.at("name").string()
    if not name:
        env.report(problems.missing_field(env.at("name").path))
    elif name in RESERVED_ENV:
        env.report(Problem(env.at("name").path, f'"{name}" is a reserved environment variable'))
    source = env.at("valueFrom")
    if source.present():
        source.allow_only(ENV_SOURCES)
        given = [kind for kind in ENV_SOURCES if source.at(kind).present()]
        if len(given) > 1:
            source.report(problems.multiple_one_of(source.path, given))


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


def _validate_probe(probe: Node, *, readiness: bool) -> None:
    handlers = [handler for handler in PROBE_HANDLERS if probe.at(handler).present()]
    if not handlers:
        probe.report(problems.missing_one_of(probe.path, PROBE_HANDLERS))
    elif len(handlers) > 1:
        probe.report(problems.multiple_one_of(probe.path, handlers))
    if readiness and not probe.at("periodSeconds").integer():
        # Knative's aggressive probing owns the timing then (k8s_validation.go).
        for key in ("failureThreshold", "timeoutSeconds"):
            if probe.at(key).integer():
                message = f"{key} is disallowed when periodSeconds is zero"
                probe.report(Problem(probe.at(key).path, message))
        return
    for key in ("timeoutSeconds", "failureThreshold"):
        value = probe.at(key).integer()
        if value is not None and value < 1:
            probe.report(problems.out_of_bounds(value, 1, 2147483647, probe.at(key).path))
