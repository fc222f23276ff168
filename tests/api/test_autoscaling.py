"""``autoscaling.knative.dev/*`` annotations on a revision template.

Aspects: each annotation's accepted range with Knative's message; camelCase aliases
are read and checked like the kebab-case names; the autoscaler reads values through
the same lookup.
"""

import pytest

from tests.api.manifests import admit, at, service
from unkai.api.knative import autoscaling

PREFIX = "spec.template.metadata.annotations"


def admit_annotations(annotations: dict[str, str]) -> list[tuple[str, str]]:
    return admit(at(service(), "spec.template.metadata.annotations", annotations))


@pytest.mark.parametrize(
    "annotations",
    [
        {"autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev"},
        {
            "autoscaling.knative.dev/class": "hpa.autoscaling.knative.dev",
            "autoscaling.knative.dev/metric": "cpu",
        },
        {
            "autoscaling.knative.dev/class": "example.com/custom",
            "autoscaling.knative.dev/metric": "anything",
        },
        {"autoscaling.knative.dev/metric": "rps", "autoscaling.knative.dev/target": "0.01"},
        {"autoscaling.knative.dev/target-utilization-percentage": "70"},
        {"autoscaling.knative.dev/min-scale": "1", "autoscaling.knative.dev/max-scale": "0"},
        {"autoscaling.knative.dev/minScale": "2", "autoscaling.knative.dev/maxScale": "5"},
        {"autoscaling.knative.dev/initial-scale": "3"},
        {"autoscaling.knative.dev/activation-scale": "2", "autoscaling.knative.dev/max-scale": "3"},
        {"autoscaling.knative.dev/scale-down-delay": "15m"},
        {"autoscaling.knative.dev/window": "6s"},
        {"autoscaling.knative.dev/window": "1h"},
        {"autoscaling.knative.dev/panic-window-percentage": "10.5"},
        {"autoscaling.knative.dev/panic-threshold-percentage": "200"},
        {"autoscaling.knative.dev/scale-to-zero-pod-retention-period": "1m5s"},
        {"autoscaling.knative.dev/target-burst-capacity": "-1"},
        {"autoscaling.knative.dev/targetBurstCapacity": "0"},
        {"autoscaling.knative.dev/metric-aggregation-algorithm": "weighted-exponential"},
    ],
)
def test_accepted(annotations: dict[str, str]) -> None:
    assert admit_annotations(annotations) == []


@pytest.mark.parametrize(
    ("key", "value", "field_key", "message"),
    [
        (
            "class",
            "foo.autoscaling.knative.dev",
            "class",
            "invalid value: foo.autoscaling.knative.dev",
        ),
        ("metric", "cpu", "metric", "invalid value: cpu"),
        ("target", "0.001", "target", "target 0.001 should be at least 0.01"),
        ("target", "lots", "target", "target lots should be at least 0.01"),
        (
            "target-utilization-percentage",
            "0",
            "target-utilization-percentage",
            "expected 1 <= 0 <= 100",
        ),
        (
            "targetUtilizationPercentage",
            "101",
            "targetUtilizationPercentage",
            "expected 1 <= 101 <= 100",
        ),
        ("min-scale", "-1", "min-scale", "expected 0 <= -1 <= 2147483647"),
        ("min-scale", "one", "min-scale", "invalid value: one"),
        ("maxScale", "1.5", "maxScale", "invalid value: 1.5"),
        (
            "initial-scale",
            "0",
            "initial-scale",
            "invalid value: 0: 0 needs allow-zero-initial-scale, which is off (use 1 or more)",
        ),
        ("initialScale", "-2", "initialScale", "invalid value: -2"),
        ("activation-scale", "1", "activation-scale", "expected 2 <= 1 <= 2147483647"),
        ("scale-down-delay", "2h", "scale-down-delay", "expected 0s <= 2h <= 1h0m0s"),
        (
            "scaleDownDelay",
            "1.5s",
            "scaleDownDelay",
            "must be specified with at most second precision",
        ),
        ("scale-down-delay", "soon", "scale-down-delay", "invalid value: soon"),
        ("window", "5s", "window", "expected 6s <= 5s <= 1h0m0s"),
        ("window", "61m", "window", "expected 6s <= 61m <= 1h0m0s"),
        ("window", "6500ms", "window", "must be specified with at most second precision"),
        ("panic-window-percentage", "0.5", "panic-window-percentage", "expected 1 <= 0.5 <= 100"),
        (
            "panicThresholdPercentage",
            "100",
            "panicThresholdPercentage",
            "expected 110 <= 100 <= 1000",
        ),
        (
            "panic-threshold-percentage",
            "1001",
            "panic-threshold-percentage",
            "expected 110 <= 1001 <= 1000",
        ),
        (
            "scale-to-zero-pod-retention-period",
            "-1s",
            "scale-to-zero-pod-retention-period",
            "expected 0s <= -1s <= 1h0m0s",
        ),
        ("target-burst-capacity", "-2", "target-burst-capacity", "invalid value: -2"),
        (
            "metric-aggregation-algorithm",
            "median",
            "metric-aggregation-algorithm",
            "invalid value: median",
        ),
    ],
)
def test_rejected(key: str, value: str, field_key: str, message: str) -> None:
    found = admit_annotations({f"autoscaling.knative.dev/{key}": value})
    assert found == [(f"{PREFIX}.autoscaling.knative.dev/{field_key}", message)]


def test_max_scale_below_min_scale() -> None:
    found = admit_annotations(
        {"autoscaling.knative.dev/min-scale": "5", "autoscaling.knative.dev/max-scale": "2"}
    )
    assert found == [
        (f"{PREFIX}.autoscaling.knative.dev/max-scale", "max-scale=2 is less than min-scale=5")
    ]


@pytest.mark.parametrize(
    ("annotations", "message"),
    [
        (
            {"activation-scale": "5", "max-scale": "3"},
            "activation-scale=5 is greater than max-scale=3",
        ),
        (
            {"activation-scale": "2", "min-scale": "3"},
            "activation-scale=2 is less than min-scale=3",
        ),
    ],
)
def test_activation_scale_within_min_and_max(annotations: dict[str, str], message: str) -> None:
    found = admit_annotations({f"autoscaling.knative.dev/{k}": v for k, v in annotations.items()})
    assert found == [(f"{PREFIX}.autoscaling.knative.dev/activation-scale", message)]


def test_kpa_only_checks_skip_other_classes() -> None:
    found = admit_annotations(
        {
            "autoscaling.knative.dev/class": "hpa.autoscaling.knative.dev",
            "autoscaling.knative.dev/metric-aggregation-algorithm": "anything",
        }
    )
    assert found == []


def test_revision_annotations_are_checked_on_the_revision_itself() -> None:
    revision = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Revision",
        "metadata": {
            "name": "hello-00001",
            "annotations": {"autoscaling.knative.dev/window": "1s"},
        },
        "spec": {"containers": [{"image": "example.com/hello"}]},
    }
    assert admit(revision) == [
        ("metadata.annotations.autoscaling.knative.dev/window", "expected 6s <= 1s <= 1h0m0s")
    ]


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        ({"autoscaling.knative.dev/min-scale": "1"}, ("autoscaling.knative.dev/min-scale", "1")),
        ({"autoscaling.knative.dev/minScale": "2"}, ("autoscaling.knative.dev/minScale", "2")),
        (
            {"autoscaling.knative.dev/minScale": "2", "autoscaling.knative.dev/min-scale": "3"},
            ("autoscaling.knative.dev/min-scale", "3"),
        ),
        ({}, None),
    ],
)
def test_lookup_prefers_the_kebab_case_key(
    annotations: dict[str, str], expected: tuple[str, str] | None
) -> None:
    assert autoscaling.MIN_SCALE.get(annotations) == expected
