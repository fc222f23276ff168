"""One revision's autoscaling settings: config defaults overridden by its annotations.

:func:`revision_spec` is Knative's ``MakeDecider`` + ``MakeMetric`` + the PodAutoscaler
accessors in one pure function. Annotations are read only through
:mod:`unkai.api.knative.autoscaling` (aliases included), so the autoscaler sees exactly
what admission accepted; a value that does not parse falls back to the default, as
Knative's ``annotationInt32``/``annotationFloat64`` do.

Unkai's embedded platform runs KPA only. A revision that asks for another class
(``hpa.autoscaling.knative.dev`` or a custom one) is scaled by KPA all the same, and
:attr:`RevisionSpec.notes` says so; with an HPA-only metric (cpu, memory, custom) it
scales on concurrency.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

from unkai.api.knative import autoscaling as ann
from unkai.api.knative.durations import parse_go_duration
from unkai.platform.autoscaler.config import AutoscalerConfig

Metric = Literal["concurrency", "rps"]
T = TypeVar("T")


@dataclass(frozen=True)
class RevisionSpec:
    """Everything the collector, the decider and the scale step need for one revision.

    ``target_value`` is the per-pod target the decider divides by (``TargetValue``);
    ``total_value`` the per-pod capacity used for excess burst capacity. Durations are
    seconds. ``max_scale`` and ``container_concurrency`` are 0 for unlimited.
    ``min_scale`` applies only while ``reachable`` (some route sends traffic to the
    revision).
    """

    metric: Metric
    target_value: float
    total_value: float
    target_burst_capacity: float
    panic_threshold: float
    stable_window: float
    panic_window: float
    weighted_average: bool
    max_scale_up_rate: float
    max_scale_down_rate: float
    scale_down_delay: float
    min_scale: int
    max_scale: int
    initial_scale: int
    activation_scale: int
    enable_scale_to_zero: bool
    scale_to_zero_grace_period: float
    pod_retention_period: float
    activation_timeout: float
    tick_interval: float
    bucket_size: float
    container_concurrency: int = 0
    reachable: bool = True
    notes: tuple[str, ...] = ()

    def bounds(self) -> tuple[int, int]:
        """``(min, max)`` as ``PodAutoscaler.ScaleBounds``: min counts only if reachable."""
        return (self.min_scale if self.reachable else 0), self.max_scale


def revision_spec(
    annotations: Mapping[str, str],
    *,
    container_concurrency: int,
    config: AutoscalerConfig,
    reachable: bool = True,
) -> RevisionSpec:
    """The spec for a revision with these ``autoscaling.knative.dev/*`` annotations."""
    metric, notes = _metric(annotations)
    target_value, total_value = _target(
        annotations, metric=metric, container_concurrency=container_concurrency, config=config
    )
    stable_window = _value(ann.WINDOW, annotations, _seconds, config.stable_window)
    panic_percentage = _value(
        ann.PANIC_WINDOW_PERCENTAGE, annotations, ann.parse_go_float, config.panic_window_percentage
    )
    threshold = _value(
        ann.PANIC_THRESHOLD_PERCENTAGE,
        annotations,
        ann.parse_go_float,
        config.panic_threshold_percentage,
    )
    algorithm = _value(ann.METRIC_AGGREGATION_ALGORITHM, annotations, str, "linear")
    low = _value(ann.MIN_SCALE, annotations, ann.parse_go_int, config.min_scale)
    high = _value(ann.MAX_SCALE, annotations, ann.parse_go_int, config.max_scale)
    if config.max_scale_limit > 0:
        high = config.max_scale_limit if high == 0 else min(high, config.max_scale_limit)
    return RevisionSpec(
        metric=metric,
        target_value=target_value,
        total_value=total_value,
        target_burst_capacity=_value(
            ann.TARGET_BURST_CAPACITY, annotations, ann.parse_go_float, config.target_burst_capacity
        ),
        panic_threshold=threshold / 100,
        stable_window=stable_window,
        panic_window=_panic_window(stable_window, panic_percentage, config.bucket_size),
        weighted_average=algorithm in ("weighted-exponential", "weightedExponential"),
        max_scale_up_rate=config.max_scale_up_rate,
        max_scale_down_rate=config.max_scale_down_rate,
        scale_down_delay=_value(
            ann.SCALE_DOWN_DELAY, annotations, _seconds, config.scale_down_delay
        ),
        min_scale=low,
        max_scale=high,
        initial_scale=_initial_scale(annotations, config),
        activation_scale=_value(ann.ACTIVATION_SCALE, annotations, ann.parse_go_int, 1),
        enable_scale_to_zero=config.enable_scale_to_zero,
        scale_to_zero_grace_period=config.scale_to_zero_grace_period,
        pod_retention_period=_value(
            ann.SCALE_TO_ZERO_POD_RETENTION_PERIOD,
            annotations,
            _seconds,
            config.scale_to_zero_pod_retention_period,
        ),
        activation_timeout=config.activation_timeout,
        tick_interval=config.tick_interval,
        bucket_size=config.bucket_size,
        container_concurrency=container_concurrency,
        reachable=reachable,
        notes=notes,
    )


def _value(
    annotation: ann.Annotation,
    annotations: Mapping[str, str],
    parse: Callable[[str], T],
    default: T,
) -> T:
    if (item := annotation.get(annotations)) is None:
        return default
    try:
        return parse(item[1])
    except ValueError:
        return default


def _seconds(text: str) -> float:
    return parse_go_duration(text).total_seconds()


def _metric(annotations: Mapping[str, str]) -> tuple[Metric, tuple[str, ...]]:
    cls = ann.autoscaler_class(annotations)
    asked = _value(ann.METRIC, annotations, str, ann.CONCURRENCY)
    notes = []
    if cls != ann.KPA:
        notes.append(f"autoscaler class {cls!r} is not available on Unkai's platform; using KPA")
    if asked == ann.RPS:
        return "rps", tuple(notes)
    if asked != ann.CONCURRENCY:
        notes.append(f"metric {asked!r} needs HPA; scaling on concurrency instead")
    return "concurrency", tuple(notes)


def _target(
    annotations: Mapping[str, str],
    *,
    metric: Metric,
    container_concurrency: int,
    config: AutoscalerConfig,
) -> tuple[float, float]:
    """``ResolveMetricTarget``: ``(max(0.01, total × utilization), total)``."""
    if metric == "rps":
        total = config.requests_per_second_target_default
    else:
        total = float(container_concurrency or config.container_concurrency_target_default)
    if (target := _value(ann.TARGET, annotations, ann.parse_go_float, None)) is not None:
        total = target
        if metric == "concurrency" and container_concurrency != 0:
            total = min(target, float(container_concurrency))
    utilization = _value(ann.TARGET_UTILIZATION_PERCENTAGE, annotations, ann.parse_go_float, None)
    fraction = config.target_utilization if utilization is None else utilization / 100
    return max(ann.TARGET_MIN, total * fraction), total


def _panic_window(stable_window: float, percentage: float, bucket_size: float) -> float:
    """Stable window × percentage, rounded to the second (half away from zero), ≥ a bucket."""
    return max(math.floor(stable_window * percentage / 100 + 0.5), bucket_size)


def _initial_scale(annotations: Mapping[str, str], config: AutoscalerConfig) -> int:
    """``GetInitialScale``: the annotation, unless it is 0 and zero is not allowed."""
    asked = _value(ann.INITIAL_SCALE, annotations, ann.parse_go_int, None)
    if asked is None or (asked == 0 and not config.allow_zero_initial_scale):
        return config.initial_scale
    return asked
