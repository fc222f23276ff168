"""Knative's webhook refusals for the runtime contract, with its messages (admission only).

Aspects: volume mounts need a volume, an absolute unreserved unique path and, for
ConfigMap/Secret/projected volumes, ``readOnly``; volumes must be mounted and be one of
the kinds Knative allows by default (``hostPath`` is not); ``mountPropagation`` is
refused (TestMustNotContainerConstraints); ``envFrom`` names one source; a readiness
probe with Knative's ``periodSeconds: 0`` may not set its own timeout or threshold.
"""

from typing import Any

import pytest

from tests.api.manifests import admit
from unkai.api.knative.podspec import QUANTITY_MESSAGE

CONTAINER = "spec.containers[0]"


def revision(container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Revision",
        "metadata": {"name": "hello-00001", "namespace": "default"},
        "spec": {"containers": [{"image": "example.com/hello:v1", **container}], **spec},
    }


CONFIG = [{"name": "conf", "configMap": {"name": "settings"}}]


@pytest.mark.parametrize(
    ("mount", "volumes", "found"),
    [
        ({"name": "conf", "mountPath": "/etc/conf", "readOnly": True}, CONFIG, []),
        (
            {"name": "other", "mountPath": "/etc/conf", "readOnly": True},
            CONFIG,
            [
                (f"{CONTAINER}.volumeMounts[0].name", "volumeMount has no matching volume"),
                ("spec.volumes[0].name", 'volume with name "conf" not mounted'),
            ],
        ),
        (
            {"name": "conf", "mountPath": "/etc/conf"},
            CONFIG,
            [
                (
                    f"{CONTAINER}.volumeMounts[0].readOnly",
                    "volume mount should be readOnly for this type of volume",
                )
            ],
        ),
        ({"name": "scratch", "mountPath": "/data"}, [{"name": "scratch", "emptyDir": {}}], []),
        (
            {"name": "conf", "mountPath": "/var/", "readOnly": True},
            CONFIG,
            [(f"{CONTAINER}.volumeMounts[0].mountPath", 'mountPath "/var" is a reserved path')],
        ),
        (
            {"name": "conf", "mountPath": "etc/conf", "readOnly": True},
            CONFIG,
            [(f"{CONTAINER}.volumeMounts[0].mountPath", "invalid value: etc/conf")],
        ),
        (
            {"name": "conf", "mountPath": "/etc/conf", "readOnly": True,
             "mountPropagation": "Bidirectional"},
            CONFIG,
            [(f"{CONTAINER}.volumeMounts[0].mountPropagation", "must not set the field(s)")],
        ),
        (
            {"name": "host", "mountPath": "/host", "readOnly": True},
            [{"name": "host", "hostPath": {"path": "/"}}],
            [
                ("spec.volumes[0].hostPath", "must not set the field(s)"),
                (
                    "spec.volumes[0]",
                    "expected exactly one, got neither: configMap, emptyDir, projected, secret",
                ),
                (f"{CONTAINER}.volumeMounts[0].name", "volumeMount has no matching volume"),
            ],
        ),
    ],
)  # fmt: skip
def test_volume_mounts(
    mount: dict[str, Any], volumes: list[dict[str, Any]], found: list[tuple[str, str]]
) -> None:
    assert sorted(admit(revision({"volumeMounts": [mount]}, volumes=volumes))) == sorted(found)


def test_env_from_names_one_source() -> None:
    both = {"configMapRef": {"name": "a"}, "secretRef": {"name": "b"}}
    assert admit(revision({"envFrom": [both]})) == [
        (f"{CONTAINER}.envFrom[0]", "expected exactly one, got both: configMapRef, secretRef")
    ]


def test_env_value_from_resource_field_ref_is_refused() -> None:
    env = {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}
    assert admit(revision({"env": [env]})) == [
        (f"{CONTAINER}.env[0].valueFrom.resourceFieldRef", "must not set the field(s)")
    ]


def test_aggressive_readiness_probe_owns_its_timing() -> None:
    probe = {"httpGet": {"path": "/"}, "timeoutSeconds": 2, "failureThreshold": 5}
    assert sorted(admit(revision({"readinessProbe": probe}))) == [
        (
            f"{CONTAINER}.readinessProbe.failureThreshold",
            "failureThreshold is disallowed when periodSeconds is zero",
        ),
        (
            f"{CONTAINER}.readinessProbe.timeoutSeconds",
            "timeoutSeconds is disallowed when periodSeconds is zero",
        ),
    ]
    assert admit(revision({"readinessProbe": {**probe, "periodSeconds": 1}})) == []


SECURITY = f"{CONTAINER}.securityContext"


@pytest.mark.parametrize(
    ("context", "found"),
    [
        ({"runAsUser": 1000, "runAsGroup": 1000, "runAsNonRoot": True,
          "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
          "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}, []),
        ({"privileged": True}, [(f"{SECURITY}.privileged", "must not set the field(s)")]),
        ({"capabilities": {"add": ["NET_ADMIN"]}},
         [(f"{SECURITY}.capabilities.add", "must not set the field(s)")]),
        ({"runAsUser": -1}, [(f"{SECURITY}.runAsUser", "expected 0 <= -1 <= 2147483647")]),
        ({"runAsGroup": -5}, [(f"{SECURITY}.runAsGroup", "expected 0 <= -5 <= 2147483647")]),
        ({"procMount": "Unmasked"}, [(f"{SECURITY}.procMount", "must not set the field(s)")]),
    ],
)  # fmt: skip
def test_must_not_container_constraints_security_context(
    context: dict[str, Any], found: list[tuple[str, str]]
) -> None:
    """TestMustNotContainerConstraints: what a container's securityContext may not say."""
    assert admit(revision({"securityContext": context})) == found


@pytest.mark.parametrize(
    ("resources", "found"),
    [
        ({"limits": {"memory": "128Mi", "cpu": "500m"}, "requests": {"cpu": "0.1"}}, []),
        ({"limits": {"memory": "1e3", "cpu": 2}}, []),
        ({"limits": {"memory": "lots"}},
         [(f"{CONTAINER}.resources.limits.memory", QUANTITY_MESSAGE)]),
        ({"requests": {"cpu": "1.5cores"}},
         [(f"{CONTAINER}.resources.requests.cpu", QUANTITY_MESSAGE)]),
        ({"limits": {"cpu": "-1"}},
         [(f"{CONTAINER}.resources.limits.cpu", "must be greater than or equal to 0")]),
        ({"claims": [{"name": "gpu"}]},
         [(f"{CONTAINER}.resources.claims", "must not set the field(s)")]),
    ],
)  # fmt: skip
def test_resource_quantities(resources: dict[str, Any], found: list[tuple[str, str]]) -> None:
    assert admit(revision({"resources": resources})) == found


@pytest.mark.parametrize(
    ("container", "found"),
    [
        ({"ports": [{"containerPort": 8080, "name": "arbitrary"}]},
         [(f"{CONTAINER}.ports[0]", "Port name arbitrary is not allowed: Name must be empty,"
                                   " or one of: 'h2c', 'http1'")]),
    ],
)  # fmt: skip
def test_must_not_container_constraints(
    container: dict[str, Any], found: list[tuple[str, str]]
) -> None:
    """TestMustNotContainerConstraints: a port name other than ``h2c``/``http1`` (and
    ``mountPropagation``, in :func:`test_volume_mounts`)."""
    assert admit(revision(container)) == found


@pytest.mark.parametrize(
    ("container", "found"),
    [
        ({"lifecycle": {"postStart": {"exec": {"command": ["true"]}}}},
         [(f"{CONTAINER}.lifecycle", "must not set the field(s)")]),
        ({"lifecycle": {"preStop": {"exec": {"command": ["true"]}}}},
         [(f"{CONTAINER}.lifecycle", "must not set the field(s)")]),
        ({"ports": [{"containerPort": 8080}, {"containerPort": 9090}]},
         [(f"{CONTAINER}.ports", "more than one container port is set:"
                                " Only a single port is allowed across all containers")]),
        ({"ports": [{"containerPort": 8080, "hostPort": 80}]},
         [(f"{CONTAINER}.ports[0].hostPort", "must not set the field(s)")]),
        ({"stdin": True}, [(f"{CONTAINER}.stdin", "must not set the field(s)")]),
        ({"stdinOnce": True}, [(f"{CONTAINER}.stdinOnce", "must not set the field(s)")]),
        ({"tty": True}, [(f"{CONTAINER}.tty", "must not set the field(s)")]),
        ({"securityContext": {"runAsUser": -10}},
         [(f"{CONTAINER}.securityContext.runAsUser", "expected 0 <= -10 <= 2147483647")]),
    ],
)  # fmt: skip
def test_should_not_container_constraints(
    container: dict[str, Any], found: list[tuple[str, str]]
) -> None:
    """TestShouldNotContainerConstraints: what Knative refuses in a container."""
    assert admit(revision(container)) == found
