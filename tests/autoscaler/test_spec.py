"""Per-revision settings from annotations and containerConcurrency (``revision_spec``).

Covers target resolution (``ResolveMetricTarget``: CC cap, utilization, rps, the 0.01
floor), windows (panic window rounding), scale bounds with max-scale-limit, initial
scale with and without allow-zero, camelCase aliases, other classes and metrics, and
the fallback to defaults for values admission would have rejected.
"""

from __future__ import annotations

import pytest

from unkai.platform.autoscaler import AutoscalerConfig, revision_spec

A = "autoscaling.knative.dev/"
DEFAULTS = AutoscalerConfig()


def spec(cc: int = 0, config: AutoscalerConfig = DEFAULTS, **annotations: str):
    named = {A + key.replace("_", "-"): value for key, value in annotations.items()}
    return revision_spec(named, container_concurrency=cc, config=config)


@pytest.mark.parametrize(
    ("cc", "annotations", "target_value", "total_value"),
    [
        pytest.param(0, {}, 70.0, 100.0, id="default 100 x 70%"),
        pytest.param(10, {}, 7.0, 10.0, id="containerConcurrency is the total"),
        pytest.param(0, {"target": "10"}, 7.0, 10.0, id="doc caveat: target 10 -> 7"),
        pytest.param(5, {"target": "50"}, 3.5, 5.0, id="target capped by CC"),
        pytest.param(50, {"target": "5"}, 3.5, 5.0, id="target below CC wins"),
        pytest.param(0, {"target_utilization_percentage": "50"}, 50.0, 100.0, id="utilization"),
        pytest.param(0, {"metric": "rps"}, 140.0, 200.0, id="rps default 200 x 70%"),
        pytest.param(5, {"metric": "rps", "target": "50"}, 35.0, 50.0, id="rps ignores CC"),
        pytest.param(0, {"target": "0.01"}, 0.01, 0.01, id="floor 0.01"),
    ],
)
def test_target_resolution(cc, annotations, target_value, total_value) -> None:
    resolved = spec(cc, **annotations)
    assert resolved.target_value == pytest.approx(target_value)
    assert resolved.total_value == pytest.approx(total_value)


def test_utilization_as_fraction_or_percentage_in_config() -> None:
    fraction = AutoscalerConfig(container_concurrency_target_percentage=0.5)
    assert spec(config=fraction).target_value == 50.0


@pytest.mark.parametrize(
    ("annotations", "stable", "panic"),
    [
        ({}, 60.0, 6.0),
        ({"window": "1m30s"}, 90.0, 9.0),
        ({"window": "6s"}, 6.0, 1.0),  # 0.6 s rounds to 1 s
        ({"window": "25s", "panic_window_percentage": "10"}, 25.0, 3.0),  # 2.5 s -> 3 s
        ({"panic_window_percentage": "100"}, 60.0, 60.0),
    ],
)
def test_windows(annotations, stable, panic) -> None:
    resolved = spec(**annotations)
    assert (resolved.stable_window, resolved.panic_window) == (stable, panic)


def test_every_annotation_is_read() -> None:
    resolved = spec(
        min_scale="2",
        max_scale="9",
        initial_scale="3",
        activation_scale="4",
        scale_down_delay="30s",
        panic_threshold_percentage="150",
        target_burst_capacity="-1",
        scale_to_zero_pod_retention_period="1m",
        metric_aggregation_algorithm="weighted-exponential",
    )
    assert (resolved.min_scale, resolved.max_scale, resolved.initial_scale) == (2, 9, 3)
    assert resolved.activation_scale == 4
    assert resolved.scale_down_delay == 30.0
    assert resolved.panic_threshold == 1.5
    assert resolved.target_burst_capacity == -1
    assert resolved.pod_retention_period == 60.0
    assert resolved.weighted_average


def test_camel_case_aliases() -> None:
    resolved = spec(
        minScale="1",
        maxScale="4",
        initialScale="2",
        scaleDownDelay="10s",
        panicWindowPercentage="20",
        panicThresholdPercentage="300",
        targetUtilizationPercentage="80",
        targetBurstCapacity="0",
        scaleToZeroPodRetentionPeriod="5s",
        metricAggregationAlgorithm="weightedExponential",
    )
    assert (resolved.min_scale, resolved.max_scale, resolved.initial_scale) == (1, 4, 2)
    assert resolved.scale_down_delay == 10.0
    assert resolved.panic_window == 12.0
    assert resolved.panic_threshold == 3.0
    assert resolved.target_value == 80.0
    assert resolved.target_burst_capacity == 0
    assert resolved.pod_retention_period == 5.0
    assert resolved.weighted_average


def test_kebab_case_wins_over_alias() -> None:
    assert spec(min_scale="3", minScale="1").min_scale == 3


@pytest.mark.parametrize(
    ("limit", "annotations", "expected"),
    [(0, {}, 0), (10, {}, 10), (10, {"max_scale": "4"}, 4), (10, {"max_scale": "40"}, 10)],
)
def test_max_scale_limit(limit, annotations, expected) -> None:
    assert spec(config=AutoscalerConfig(max_scale_limit=limit), **annotations).max_scale == expected


def test_config_bounds_are_defaults() -> None:
    config = AutoscalerConfig(min_scale=1, max_scale=7, scale_down_delay=5.0)
    resolved = spec(config=config)
    assert (resolved.min_scale, resolved.max_scale, resolved.scale_down_delay) == (1, 7, 5.0)
    assert spec(config=config, min_scale="0").min_scale == 0


def test_initial_scale_zero_needs_allow_zero() -> None:
    assert spec(initial_scale="0").initial_scale == 1
    allowing = AutoscalerConfig(allow_zero_initial_scale=True)
    assert spec(config=allowing, initial_scale="0").initial_scale == 0


def test_unparsable_values_fall_back_to_defaults() -> None:
    resolved = spec(min_scale="many", window="soon", target="lots")
    assert (resolved.min_scale, resolved.stable_window, resolved.target_value) == (0, 60.0, 70.0)


def test_hpa_class_is_scaled_by_kpa_with_a_note() -> None:
    resolved = spec(**{"class": "hpa.autoscaling.knative.dev", "metric": "cpu"})
    assert resolved.metric == "concurrency"
    assert len(resolved.notes) == 2
    assert "KPA" in resolved.notes[0]
    assert "cpu" in resolved.notes[1]
    assert spec().notes == ()


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max-scale-down-rate"):
        AutoscalerConfig(max_scale_down_rate=1.0)
    with pytest.raises(ValueError, match="initial-scale"):
        AutoscalerConfig(initial_scale=0)
