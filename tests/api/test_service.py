"""Service admission: defaults Knative applies and every rule it enforces.

Aspects: the defaulted Service a user reads back; one table row per validation rule,
each with Knative's message and the field it points at; updates (BYO names).
"""

from typing import Any

import pytest

from tests.api.manifests import admit, at, service
from unkai.api.knative import service as service_kind

CONTAINER = "spec.template.spec.containers[0]"


def test_defaults_are_knative_s() -> None:
    defaulted = service_kind.default(service())
    assert defaulted["spec"]["traffic"] == [{"percent": 100, "latestRevision": True}]
    spec = defaulted["spec"]["template"]["spec"]
    assert spec["timeoutSeconds"] == 300
    assert "responseStartTimeoutSeconds" not in spec  # unset: as timeoutSeconds
    assert "idleTimeoutSeconds" not in spec  # unset: none
    assert spec["containerConcurrency"] == 0
    assert spec["enableServiceLinks"] is False
    [container] = spec["containers"]
    assert container["name"] == "user-container"
    assert container["readinessProbe"] == {"tcpSocket": {"port": 0}, "successThreshold": 1}


def test_default_returns_a_copy() -> None:
    original = service()
    service_kind.default(original)
    assert "traffic" not in original["spec"]


def test_lowering_the_timeout_of_a_stored_service_stays_valid() -> None:
    stored = service_kind.default(service())
    lowered = service_kind.default(at(stored, "spec.template.spec.timeoutSeconds", 10))
    assert admit(lowered) == []


@pytest.mark.parametrize(
    ("traffic", "expected"),
    [
        (
            [{"tag": "v1", "revisionName": "hello-00001", "percent": 100}],
            [{"tag": "v1", "revisionName": "hello-00001", "percent": 100, "latestRevision": False}],
        ),
        ([{"percent": 100}], [{"percent": 100, "latestRevision": True}]),
        (
            [{"latestRevision": True, "percent": 100, "tag": "x"}, {"revisionName": "hello-00001"}],
            [
                {"latestRevision": True, "percent": 100, "tag": "x"},
                {"revisionName": "hello-00001", "latestRevision": False, "percent": 0},
            ],
        ),
    ],
)
def test_traffic_targets_are_defaulted(traffic: list[Any], expected: list[Any]) -> None:
    assert service_kind.default(service(traffic=traffic))["spec"]["traffic"] == expected


def test_the_quickstart_service_is_valid() -> None:
    assert admit(service()) == []


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        # Names: DNS-1035 labels, at most 63 characters.
        ("metadata.name", "Hello", "metadata.name", "not a DNS 1035 label: [a DNS-1035 label"),
        (
            "metadata.name",
            "a" * 64,
            "metadata.name",
            "not a DNS 1035 label: [must be no more than 63 characters]",
        ),
        ("metadata.name", "", "metadata.name", "name or generateName is required"),
        (
            "metadata.labels",
            {"serving.knative.dev/route": "x"},
            "metadata.labels.serving.knative.dev/route",
            'invalid key name "serving.knative.dev/route"',
        ),
        (
            "metadata.labels",
            {"networking.knative.dev/visibility": "public"},
            "metadata.labels.networking.knative.dev/visibility",
            "invalid value: public",
        ),
        (
            "metadata.annotations",
            {"autoscaling.knative.dev/min-scale": "1"},
            "metadata.annotations.autoscaling.knative.dev/min-scale",
            'invalid key name "autoscaling.knative.dev/min-scale": autoscaling annotations must be '
            'put under "spec.template.metadata.annotations" to work',
        ),
        # Traffic.
        ("spec.traffic", [{"percent": 90}], "spec.traffic", "Traffic targets sum to 90, want 100"),
        (
            "spec.traffic",
            [{"percent": 101}, {"revisionName": "hello-00001", "percent": -1}],
            "spec.traffic[0].percent",
            "expected 0 <= 101 <= 100",
        ),
        (
            "spec.traffic",
            [{"percent": 50, "tag": "a"}, {"percent": 50, "tag": "a"}],
            "spec.traffic[1].tag",
            'Multiple definitions for "a"',
        ),
        (
            "spec.traffic",
            [{"percent": 100, "tag": "V1"}],
            "spec.traffic[0].tag",
            "invalid value: not a DNS 1035 label: [a DNS-1035 label",
        ),
        (
            "spec.traffic",
            [{"percent": 100, "configurationName": "other"}],
            "spec.traffic[0].configurationName",
            "must not set the field(s)",
        ),
        (
            "spec.traffic",
            [{"percent": 100, "revisionName": "hello-00001", "latestRevision": True}],
            "spec.traffic[0].latestRevision",
            'may not set revisionName "hello-00001" when latestRevision is true',
        ),
        (
            "spec.traffic",
            [{"percent": 100, "latestRevision": False}],
            "spec.traffic[0].latestRevision",
            'may not set revisionName "" when latestRevision is false',
        ),
        (
            "spec.traffic",
            [{"percent": 100, "url": "http://x"}],
            "spec.traffic[0].url",
            "must not set the field(s)",
        ),
        (
            "spec.traffic",
            [{"percent": 100, "revisionName": "-bad"}],
            "spec.traffic[0].revisionName",
            'invalid key name "-bad"',
        ),
        (
            "spec.traffic",
            [{"percent": "all"}],
            "spec.traffic[0].percent",
            "must be of type integer",
        ),
        # BYO revision names.
        (
            "spec.template.metadata.name",
            "other-v1",
            "spec.template.metadata.name",
            'invalid value: "other-v1" must have prefix "hello-"',
        ),
        (
            "spec.template.metadata.name",
            "hello-V1",
            "spec.template.metadata.name",
            "invalid value: not a DNS 1035 label: [a DNS-1035 label",
        ),
        # Timeouts and concurrency.
        (
            "spec.template.spec.timeoutSeconds",
            601,
            "spec.template.spec.timeoutSeconds",
            "expected 1 <= 601 <= 600",
        ),
        (
            "spec.template.spec.timeoutSeconds",
            0,
            "spec.template.spec.timeoutSeconds",
            "expected 1 <= 0 <= 600",
        ),
        (
            "spec.template.spec.idleTimeoutSeconds",
            301,
            "spec.template.spec.idleTimeoutSeconds",
            "expected 0 <= 301 <= 300",
        ),
        (
            "spec.template.spec.responseStartTimeoutSeconds",
            301,
            "spec.template.spec.responseStartTimeoutSeconds",
            "expected 0 <= 301 <= 300",
        ),
        (
            "spec.template.spec.containerConcurrency",
            1001,
            "spec.template.spec.containerConcurrency",
            "expected 0 <= 1001 <= 1000",
        ),
        (
            "spec.template.spec.containerConcurrency",
            -1,
            "spec.template.spec.containerConcurrency",
            "expected 0 <= -1 <= 1000",
        ),
        # Containers.
        ("spec.template.spec.containers", [], "spec.template.spec.containers", "missing field(s)"),
        (
            "spec.template.spec.containers",
            [{"image": "a"}, {"image": "b"}],
            "spec.template.spec.containers",
            "multi-container is off, but found 2 containers",
        ),
        (f"{CONTAINER}.image", "", f"{CONTAINER}.image", "missing field(s)"),
        (
            f"{CONTAINER}.image",
            "Not An Image",
            f"{CONTAINER}.image",
            "Failed to parse image reference",
        ),
        (
            f"{CONTAINER}.name",
            "queue-proxy",
            f"{CONTAINER}.name",
            '"queue-proxy" is a reserved container name',
        ),
        (f"{CONTAINER}.stdin", True, f"{CONTAINER}.stdin", "must not set the field(s)"),
        (
            f"{CONTAINER}.env",
            [{"name": "PORT", "value": "1"}],
            f"{CONTAINER}.env[0].name",
            '"PORT" is a reserved environment variable',
        ),
        (
            f"{CONTAINER}.env",
            [{"name": "K_REVISION", "value": "1"}],
            f"{CONTAINER}.env[0].name",
            '"K_REVISION" is a reserved environment variable',
        ),
        (f"{CONTAINER}.env", [{"value": "1"}], f"{CONTAINER}.env[0].name", "missing field(s)"),
        (
            f"{CONTAINER}.ports",
            [{"containerPort": 8012}],
            f"{CONTAINER}.ports[0].containerPort",
            "invalid value: 8012 is a reserved port: 8012 is a reserved port, please use a "
            "different value",
        ),
        (
            f"{CONTAINER}.ports",
            [{"containerPort": 9090}],
            f"{CONTAINER}.ports[0].containerPort",
            "invalid value: 9090 is a reserved port",
        ),
        (
            f"{CONTAINER}.ports",
            [{"containerPort": 70000}],
            f"{CONTAINER}.ports[0].containerPort",
            "expected 0 <= 70000 <= 65535",
        ),
        (
            f"{CONTAINER}.ports",
            [{"containerPort": 8080, "hostPort": 80}],
            f"{CONTAINER}.ports[0].hostPort",
            "must not set the field(s)",
        ),
        (
            f"{CONTAINER}.ports",
            [{"containerPort": 8080, "protocol": "UDP"}],
            f"{CONTAINER}.ports[0].protocol",
            "invalid value: UDP",
        ),
        (
            f"{CONTAINER}.ports",
            [{"containerPort": 8080, "name": "web"}],
            f"{CONTAINER}.ports[0]",
            "Port name web is not allowed: Name must be empty, or one of: 'h2c', 'http1'",
        ),
        (
            f"{CONTAINER}.ports",
            [{"containerPort": 8080}, {"containerPort": 8081}],
            f"{CONTAINER}.ports",
            "more than one container port is set",
        ),
        (
            f"{CONTAINER}.readinessProbe",
            {"httpGet": {}, "tcpSocket": {}},
            f"{CONTAINER}.readinessProbe",
            "expected exactly one, got both: httpGet, tcpSocket",
        ),
        (
            "spec.template.spec.serviceAccountName",
            "Bad_SA",
            "spec.template.spec.serviceAccountName",
            "invalid value: Bad_SA: a lowercase RFC 1123 subdomain",
        ),
    ],
)
def test_rule(path: str, value: Any, field: str, message: str) -> None:
    found = admit(at(service(), path, value))
    assert any(f == field and m.startswith(message) for f, m in found), found


def test_byo_name_is_not_allowed_with_generate_name() -> None:
    manifest = at(service(), "metadata", {"generateName": "hello-", "namespace": "default"})
    manifest = at(manifest, "spec.template.metadata.name", "hello-v1")
    assert admit(manifest) == [("spec.template.metadata.name", "must not set the field(s)")]


def test_byo_name_with_the_service_prefix_is_valid() -> None:
    assert admit(at(service(), "spec.template.metadata.name", "hello-v1")) == []


def test_byo_name_must_change_when_the_template_changes() -> None:
    old = at(service(), "spec.template.metadata.name", "hello-v1")
    new = at(old, f"{CONTAINER}.image", "ghcr.io/knative/helloworld-go:v2")
    [(field, message)] = admit(new, old)
    assert field == "spec.template.metadata.name"
    assert message.startswith("Saw the following changes without a name change (-old +new)")
    assert "spec.template.spec.containers[0].image" not in message  # diff paths are relative
    assert '+: "ghcr.io/knative/helloworld-go:v2"' in message
    assert admit(at(new, "spec.template.metadata.name", "hello-v2"), old) == []


def test_wrong_types_are_reported_not_raised() -> None:
    manifest = at(service(), "spec.template.spec.containers", {"image": "x"})
    assert ("spec.template.spec.containers", "must be of type array") in admit(manifest)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1m", None),
        ("0s", None),
        ("90", "invalid value: 90"),
        ("1.5s", "rollout-duration=1.5s is not at second precision"),
        ("-5s", "rollout-duration=-5s must be positive"),
    ],
)
def test_rollout_duration_annotation(value: str, message: str | None) -> None:
    manifest = service()
    manifest["metadata"]["annotations"] = {"serving.knative.dev/rollout-duration": value}
    field = "metadata.annotations.serving.knative.dev/rollout-duration"
    assert admit(manifest) == ([] if message is None else [(field, message)])
