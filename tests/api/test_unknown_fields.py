"""Fields a kind does not define, at every level of every kind served.

Aspects: a field a level does not define is one ``must not set the field(s)`` problem
at its full path (Knative's webhook decodes strictly and masks the pod spec); every
field a level does define still passes; the pod fields Knative keeps behind feature
flags, off by default, are refused; ``null`` counts as unset; top-level ``metadata`` is
all of ObjectMeta and ``status`` is not checked; the field lists agree with Knative's
CRDs (skipped where ``../shared`` is absent).
"""

from typing import Any

import pytest

from tests.api import crds
from tests.api.manifests import admit, at
from unkai.api.knative import (
    broker,
    destinations,
    pingsource,
    podspec,
    revision,
    service,
    traffic,
    trigger,
)

DISALLOWED = "must not set the field(s)"
SERVICE_REF = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "hello"}


def object_meta(name: str, **extra: Any) -> dict[str, Any]:
    """Every ObjectMeta field a client or the server may send, as in a read-back object."""
    return {
        "name": name,
        "namespace": "default",
        "uid": "6f1c2a7e-93d4-4c55-b1f8-2f0f4b5c1e11",
        "resourceVersion": "7",
        "generation": 2,
        "creationTimestamp": "2030-01-02T03:04:05Z",
        "selfLink": f"/apis/example/{name}",
        "labels": {"team": "a"},
        "annotations": {"note": "kept"},
        "ownerReferences": [],
        "finalizers": ["example.com/keep"],
        "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
        **extra,
    }


def pod_spec() -> dict[str, Any]:
    """A RevisionSpec using every field Knative allows with its default features."""
    return {
        "containers": [
            {
                "image": "ghcr.io/knative/helloworld-go",
                "ports": [{"containerPort": 8080, "name": "http1", "protocol": "TCP"}],
                "volumeMounts": [{"name": "config", "mountPath": "/etc/config", "readOnly": True}],
            }
        ],
        "volumes": [{"name": "config", "configMap": {"name": "settings"}}],
        "serviceAccountName": "runner",
        "imagePullSecrets": [{"name": "registry"}],
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
        "containerConcurrency": 10,
        "timeoutSeconds": 60,
        "responseStartTimeoutSeconds": 30,
        "idleTimeoutSeconds": 20,
    }


def full_service() -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": object_meta("hello"),
        "spec": {
            "template": {
                "metadata": {
                    "name": "hello-v1",
                    "namespace": "default",
                    "labels": {"tier": "web"},
                    "annotations": {"autoscaling.knative.dev/min-scale": "1"},
                    "finalizers": [],
                },
                "spec": pod_spec(),
            },
            "traffic": [
                {"tag": "current", "revisionName": "hello-v1", "percent": 100},
                {"tag": "latest", "latestRevision": True, "percent": 0},
            ],
        },
        "status": {"observedGeneration": 1, "anything": "the controllers write"},
    }


def full_configuration() -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Configuration",
        "metadata": object_meta("", generateName="hello-"),
        "spec": {"template": {"metadata": {"generateName": "hello-"}, "spec": pod_spec()}},
    }


def full_revision() -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Revision",
        "metadata": object_meta("hello-00001", deletionTimestamp="2030-01-02T03:05:05Z"),
        "spec": pod_spec(),
    }


def full_route() -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Route",
        "metadata": object_meta("hello", deletionGracePeriodSeconds=0),
        "spec": {
            "traffic": [
                {
                    "tag": "latest",
                    "configurationName": "hello",
                    "latestRevision": True,
                    "percent": 100,
                },
                {"tag": "v1", "revisionName": "hello-00001", "latestRevision": False},
            ]
        },
    }


def destination() -> dict[str, Any]:
    return {
        "ref": {**SERVICE_REF, "namespace": "default"},
        "uri": "/events",
        "CACerts": "-----BEGIN CERTIFICATE-----",
        "audience": "hello",
    }


def delivery() -> dict[str, Any]:
    return {
        "deadLetterSink": destination(),
        "retry": 3,
        "backoffPolicy": "linear",
        "backoffDelay": "PT1S",
        "timeout": "PT10S",
        "retryAfterMax": "PT1M",
        "format": "binary",
    }


def full_broker() -> dict[str, Any]:
    return {
        "apiVersion": "eventing.knative.dev/v1",
        "kind": "Broker",
        "metadata": object_meta("default"),
        "spec": {
            "config": {"apiVersion": "v1", "kind": "ConfigMap", "name": "b", "namespace": "x"},
            "delivery": delivery(),
        },
    }


def full_trigger() -> dict[str, Any]:
    return {
        "apiVersion": "eventing.knative.dev/v1",
        "kind": "Trigger",
        "metadata": object_meta("", generateName="on-order-"),
        "spec": {
            "broker": "default",
            "filter": {"attributes": {"type": "order.created"}},
            "filters": [
                {"exact": {"type": "order.created"}},
                {"any": [{"prefix": {"source": "shop"}}, {"not": {"suffix": {"subject": "x"}}}]},
                {"all": [{"cesql": "source LIKE 'shop%'"}]},
            ],
            "subscriber": destination(),
            "delivery": delivery(),
        },
    }


def full_pingsource() -> dict[str, Any]:
    return {
        "apiVersion": "sources.knative.dev/v1",
        "kind": "PingSource",
        "metadata": object_meta("every-minute"),
        "spec": {
            "schedule": "*/5 * * * *",
            "timezone": "Europe/Paris",
            "contentType": "application/json",
            "data": '{"message": "hello"}',
            "sink": destination(),
            "ceOverrides": {"extensions": {"origin": "ping"}},
        },
    }


FULL = {
    "Service": full_service,
    "Configuration": full_configuration,
    "Revision": full_revision,
    "Route": full_route,
    "Broker": full_broker,
    "Trigger": full_trigger,
    "PingSource": full_pingsource,
}


@pytest.mark.parametrize("kind", FULL)
def test_every_field_each_level_defines_is_accepted(kind: str) -> None:
    assert admit(FULL[kind]()) == []


def test_data_base64_is_a_pingsource_field_too() -> None:
    manifest = full_pingsource()
    del manifest["spec"]["data"]
    assert admit(at(manifest, "spec.dataBase64", "eyJhIjogMX0=")) == []


@pytest.mark.parametrize(
    ("kind", "level"),
    [
        ("Service", ""),
        ("Service", "metadata"),
        ("Service", "spec"),
        ("Service", "spec.template"),
        ("Service", "spec.template.metadata"),
        ("Service", "spec.template.spec"),
        ("Service", "spec.template.spec.containers[0]"),
        ("Service", "spec.template.spec.containers[0].ports[0]"),
        ("Service", "spec.traffic[0]"),
        ("Service", "spec.traffic[1]"),
        ("Configuration", ""),
        ("Configuration", "metadata"),
        ("Configuration", "spec"),
        ("Configuration", "spec.template"),
        ("Configuration", "spec.template.metadata"),
        ("Configuration", "spec.template.spec"),
        ("Revision", ""),
        ("Revision", "metadata"),
        ("Revision", "spec"),
        ("Route", ""),
        ("Route", "metadata"),
        ("Route", "spec"),
        ("Route", "spec.traffic[1]"),
        ("Broker", ""),
        ("Broker", "metadata"),
        ("Broker", "spec"),
        ("Broker", "spec.config"),
        ("Broker", "spec.delivery"),
        ("Broker", "spec.delivery.deadLetterSink"),
        ("Broker", "spec.delivery.deadLetterSink.ref"),
        ("Trigger", ""),
        ("Trigger", "spec"),
        ("Trigger", "spec.filter"),
        ("Trigger", "spec.filters[0]"),
        ("Trigger", "spec.filters[1].any[1].not"),
        ("Trigger", "spec.subscriber"),
        ("Trigger", "spec.subscriber.ref"),
        ("Trigger", "spec.delivery"),
        ("PingSource", ""),
        ("PingSource", "spec"),
        ("PingSource", "spec.sink"),
        ("PingSource", "spec.sink.ref"),
        ("PingSource", "spec.ceOverrides"),
    ],
)
def test_an_unknown_field_is_one_problem_at_its_path(kind: str, level: str) -> None:
    field = f"{level}.foo" if level else "foo"
    assert admit(at(FULL[kind](), field, "bar")) == [(field, DISALLOWED)]


def test_each_unknown_field_is_its_own_problem() -> None:
    manifest = at(full_service(), "spec.template.spec.foo", 1)
    manifest = at(manifest, "spec.template.spec.bar", 2)
    manifest = at(manifest, "spec.foo", 3)
    assert admit(manifest) == [
        ("spec.foo", DISALLOWED),
        ("spec.template.spec.bar", DISALLOWED),
        ("spec.template.spec.foo", DISALLOWED),
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        # Behind Knative feature flags (kubernetes.podspec-*), all off by default.
        ("affinity", {"nodeAffinity": {}}),
        ("dnsConfig", {"nameservers": ["1.1.1.1"]}),
        ("dnsPolicy", "Default"),
        ("hostAliases", [{"ip": "127.0.0.1", "hostnames": ["db"]}]),
        ("hostIPC", True),
        ("hostNetwork", True),
        ("hostPID", True),
        ("initContainers", [{"image": "busybox"}]),
        ("nodeSelector", {"disktype": "ssd"}),
        ("priorityClassName", "high"),
        ("runtimeClassName", "gvisor"),
        ("schedulerName", "custom"),
        ("securityContext", {"runAsNonRoot": True}),
        ("shareProcessNamespace", True),
        ("tolerations", [{"key": "gpu", "operator": "Exists"}]),
        ("topologySpreadConstraints", [{"maxSkew": 1, "topologyKey": "zone"}]),
        # Kubernetes pod fields Knative never takes, and a token it only lets you refuse.
        ("terminationGracePeriodSeconds", 5),
        ("restartPolicy", "Always"),
        ("nodeName", "node-1"),
        ("automountServiceAccountToken", True),
    ],
)
def test_pod_fields_knative_does_not_allow_by_default(field: str, value: Any) -> None:
    path = f"spec.template.spec.{field}"
    assert admit(at(full_service(), path, value)) == [(path, DISALLOWED)]


def test_null_counts_as_unset() -> None:
    # Go clients send zero-valued structs as null, e.g. in every template's metadata.
    manifest = at(full_service(), "spec.template.metadata.creationTimestamp", None)
    assert admit(at(manifest, "spec.template.spec.hostNetwork", None)) == []


def test_status_is_left_to_the_controllers() -> None:
    assert admit(at(full_service(), "status.traffic", [{"percent": 100, "url": "x"}])) == []


def crd_level(filename: str, path: str) -> tuple[set[str], set[str]]:
    """The fields Knative's CRD gives the level at ``path`` (``[]``: array items), and
    those of them it describes as "accessible behind a feature flag"."""
    crd = crds.load(filename)
    version = next(v for v in crd["spec"]["versions"] if v["name"] == crds.VERSION)
    schema = version["schema"]["openAPIV3Schema"]
    for part in path.split("."):
        schema = schema["properties"][part.removesuffix("[]")]
        if part.endswith("[]"):
            schema = schema["items"]
    fields = schema["properties"]
    gated = {
        name
        for name, field in fields.items()
        if "behind a feature flag" in field.get("description", "")
    }
    return set(fields), gated


@crds.needed
@pytest.mark.parametrize(
    ("filename", "path", "allowed", "added", "refused"),
    [
        ("serving-service.yaml", "spec", service.SPEC_FIELDS, set(), set()),
        ("serving-service.yaml", "spec.template", revision.TEMPLATE_FIELDS, set(), set()),
        (
            "serving-service.yaml",
            "spec.template.metadata",
            revision.TEMPLATE_METADATA_FIELDS,
            {"generateName"},  # decoded as ObjectMeta, and its prefix validated
            set(),
        ),
        ("serving-service.yaml", "spec.traffic[]", traffic.TARGET_FIELDS, set(), set()),
        ("serving-revision.yaml", "spec", revision.SPEC_FIELDS, set(), set()),
        ("serving-revision.yaml", "spec.containers[]", podspec.CONTAINER_FIELDS, set(), set()),
        ("serving-revision.yaml", "spec.containers[].ports[]", podspec.PORT_FIELDS, set(), set()),
        ("eventing-broker.yaml", "spec", broker.SPEC_FIELDS, set(), set()),
        ("eventing-broker.yaml", "spec.config", destinations.REFERENCE_FIELDS, set(), set()),
        ("eventing-trigger.yaml", "spec", trigger.SPEC_FIELDS, set(), {"brokerRef"}),
        ("eventing-trigger.yaml", "spec.filter", trigger.FILTER_FIELDS, set(), set()),
        (
            "eventing-trigger.yaml",
            "spec.delivery",
            destinations.DELIVERY_FIELDS,
            {"timeout", "retryAfterMax"},  # behind Knative feature flags, taken by Unkai
            set(),
        ),
        ("eventing-trigger.yaml", "spec.subscriber", destinations.DESTINATION_FIELDS, set(), set()),
        (
            "eventing-trigger.yaml",
            "spec.subscriber.ref",
            destinations.REFERENCE_FIELDS,
            set(),
            set(),
        ),
        ("eventing-pingsource.yaml", "spec", pingsource.SPEC_FIELDS, set(), set()),
        (
            "eventing-pingsource.yaml",
            "spec.ceOverrides",
            destinations.CE_OVERRIDES_FIELDS,
            set(),
            set(),
        ),
    ],
)
def test_fields_are_the_crds_less_feature_flagged_ones(
    filename: str, path: str, allowed: frozenset[str], added: set[str], refused: set[str]
) -> None:
    fields, gated = crd_level(filename, path)
    assert allowed == (fields - gated - refused) | added
