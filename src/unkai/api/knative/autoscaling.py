"""``autoscaling.knative.dev/*`` annotations: names, aliases and allowed ranges.

These annotations sit on a Revision (or a Service's ``spec.template.metadata``) and tune
the autoscaler per revision. Knative accepts the kebab-case names and, for older
manifests, camelCase aliases; the first key present in :attr:`Annotation.keys` wins,
as with Knative's ``kmap.KeyPriority``. :func:`validate` mirrors
``pkg/apis/autoscaling/annotation_validation.go``; the autoscaler reads values through
:meth:`Annotation.get` so that it sees exactly what validation accepted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from unkai.api.knative import problems
from unkai.api.knative.durations import format_go_duration, parse_go_duration
from unkai.api.yamlsource import Path, Problem

GROUP = "autoscaling.knative.dev"
KPA = "kpa.autoscaling.knative.dev"
HPA = "hpa.autoscaling.knative.dev"
CONCURRENCY = "concurrency"
RPS = "rps"
TARGET_MIN = 0.01
WINDOW_MIN = timedelta(seconds=6)
WINDOW_MAX = timedelta(hours=1)
INT32_MAX = 2**31 - 1
AGGREGATION_ALGORITHMS = ("linear", "weighted-exponential", "weightedExponential")


@dataclass(frozen=True)
class Annotation:
    """One autoscaling setting and the annotation keys that spell it, canonical first."""

    keys: tuple[str, ...]

    @property
    def key(self) -> str:
        return self.keys[0]

    def get(self, annotations: Mapping[str, str]) -> tuple[str, str] | None:
        """``(key, value)`` of the first key present, or ``None``."""
        for key in self.keys:
            if key in annotations:
                return key, annotations[key]
        return None


def _annotation(name: str, alias: str | None = None) -> Annotation:
    keys = (f"{GROUP}/{name}",) + ((f"{GROUP}/{alias}",) if alias else ())
    return Annotation(keys)


CLASS = _annotation("class")
METRIC = _annotation("metric")
TARGET = _annotation("target")
TARGET_UTILIZATION_PERCENTAGE = _annotation(
    "target-utilization-percentage", "targetUtilizationPercentage"
)
TARGET_BURST_CAPACITY = _annotation("target-burst-capacity", "targetBurstCapacity")
MIN_SCALE = _annotation("min-scale", "minScale")
MAX_SCALE = _annotation("max-scale", "maxScale")
INITIAL_SCALE = _annotation("initial-scale", "initialScale")
ZERO_INITIAL_SCALE = "0 needs allow-zero-initial-scale, which is off (use 1 or more)"
ACTIVATION_SCALE = _annotation("activation-scale")
SCALE_DOWN_DELAY = _annotation("scale-down-delay", "scaleDownDelay")
WINDOW = _annotation("window")
PANIC_WINDOW_PERCENTAGE = _annotation("panic-window-percentage", "panicWindowPercentage")
PANIC_THRESHOLD_PERCENTAGE = _annotation("panic-threshold-percentage", "panicThresholdPercentage")
SCALE_TO_ZERO_POD_RETENTION_PERIOD = _annotation(
    "scale-to-zero-pod-retention-period", "scaleToZeroPodRetentionPeriod"
)
METRIC_AGGREGATION_ALGORITHM = _annotation(
    "metric-aggregation-algorithm", "metricAggregationAlgorithm"
)

_GO_INT = re.compile(r"[+-]?\d+")
_GO_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(?i:inf|infinity|nan)")


def parse_go_int(text: str) -> int:
    """``strconv.ParseInt(text, 10, 64)``: no spaces, no underscores."""
    if _GO_INT.fullmatch(text) is None:
        raise ValueError(f"not an integer: {text!r}")
    return int(text)


def parse_go_float(text: str) -> float:
    """``strconv.ParseFloat(text, 64)`` for decimal input."""
    if _GO_FLOAT.fullmatch(text) is None:
        raise ValueError(f"not a number: {text!r}")
    return float(text)


def validate(annotations: Mapping[str, str], path: Path) -> list[Problem]:
    """Every autoscaling annotation in ``annotations`` (found at ``path``) checked."""
    found: list[Problem] = []
    cls = autoscaler_class(annotations)
    if (item := CLASS.get(annotations)) and cls.endswith(".knative.dev") and cls not in (KPA, HPA):
        found.append(problems.invalid_value(cls, (*path, item[0])))
    found += _min_max_activation(annotations, path)
    found += _floats(annotations, path)
    found += _duration(WINDOW, annotations, path, low=WINDOW_MIN, whole_seconds=True)
    found += _duration(SCALE_DOWN_DELAY, annotations, path, low=timedelta(0), whole_seconds=True)
    found += _duration(
        SCALE_TO_ZERO_POD_RETENTION_PERIOD, annotations, path, low=timedelta(0), whole_seconds=False
    )
    if (item := METRIC.get(annotations)) is not None:
        metric = item[1]
        if (cls == KPA and metric not in (CONCURRENCY, RPS)) or (cls == HPA and not metric):
            found.append(problems.invalid_value(metric, (*path, METRIC.key)))
    if (item := METRIC_AGGREGATION_ALGORITHM.get(annotations)) and cls == KPA:
        key, value = item
        if value and value not in AGGREGATION_ALGORITHMS:
            found.append(problems.invalid_value(value, (*path, key)))
    if (item := INITIAL_SCALE.get(annotations)) is not None:
        key, value = item
        initial = _int_or_none(value)
        if initial is None or initial < 0:
            found.append(problems.invalid_value(value, (*path, key)))
        elif initial == 0:  # Knative's allow-zero-initial-scale: false by default, fixed here
            found.append(problems.invalid_value(value, (*path, key), ZERO_INITIAL_SCALE))
    return found


def autoscaler_class(annotations: Mapping[str, str]) -> str:
    """The autoscaler class a revision asks for; KPA unless the annotation says otherwise."""
    item = CLASS.get(annotations)
    return item[1] if item is not None else KPA


def _int_or_none(text: str) -> int | None:
    try:
        return parse_go_int(text)
    except ValueError:
        return None


def _scale(
    annotation: Annotation, annotations: Mapping[str, str], path: Path
) -> tuple[int, list[Problem]]:
    """``getIntGE0``: an int32 ≥ 0, else 0 and a problem."""
    item = annotation.get(annotations)
    if item is None:
        return 0, []
    key, value = item
    number = _int_or_none(value)
    if number is None:
        return 0, [problems.invalid_value(value, (*path, key))]
    if number < 0 or number > INT32_MAX:
        return 0, [problems.out_of_bounds(value, 0, INT32_MAX, (*path, key))]
    return number, []


def _min_max_activation(annotations: Mapping[str, str], path: Path) -> list[Problem]:
    low, found = _scale(MIN_SCALE, annotations, path)
    high, more = _scale(MAX_SCALE, annotations, path)
    found += more
    if high != 0 and high < low:
        message = f"max-scale={high} is less than min-scale={low}"
        found.append(Problem((*path, MAX_SCALE.key), message))
    if (item := ACTIVATION_SCALE.get(annotations)) is not None:
        key, value = item
        activation = _int_or_none(value)
        if activation is None:
            found.append(problems.invalid_value(value, (*path, key)))
        elif activation < 2 or activation > INT32_MAX:
            found.append(problems.out_of_bounds(activation, 2, INT32_MAX, (*path, key)))
        elif high != 0 and activation > high:
            message = f"activation-scale={activation} is greater than max-scale={high}"
            found.append(Problem((*path, key), message))
        elif activation < low:
            message = f"activation-scale={activation} is less than min-scale={low}"
            found.append(Problem((*path, key), message))
    return found


_FLOAT_RANGES = (
    (PANIC_WINDOW_PERCENTAGE, 1.0, 100.0),
    (PANIC_THRESHOLD_PERCENTAGE, 110.0, 1000.0),
    (TARGET_UTILIZATION_PERCENTAGE, 1.0, 100.0),
)


def _float(text: str) -> float | None:
    try:
        return parse_go_float(text)
    except ValueError:
        return None


def _floats(annotations: Mapping[str, str], path: Path) -> list[Problem]:
    found = []
    for annotation, low, high in _FLOAT_RANGES:
        if (item := annotation.get(annotations)) is not None:
            key, value = item
            number = _float(value)
            if number is None:
                found.append(problems.invalid_value(value, (*path, key)))
            elif not low <= number <= high:
                found.append(problems.out_of_bounds(value, low, high, (*path, key)))
    if (item := TARGET.get(annotations)) is not None:
        key, value = item
        number = _float(value)
        if number is None or math.isnan(number) or number < TARGET_MIN:
            message = f"target {value} should be at least {TARGET_MIN:g}"
            found.append(Problem((*path, key), message))
    if (item := TARGET_BURST_CAPACITY.get(annotations)) is not None:
        key, value = item
        number = _float(value)
        if number is None or math.isnan(number) or (number < 0 and number != -1):
            found.append(problems.invalid_value(value, (*path, key)))
    return found


def _duration(
    annotation: Annotation,
    annotations: Mapping[str, str],
    path: Path,
    *,
    low: timedelta,
    whole_seconds: bool,
) -> list[Problem]:
    if (item := annotation.get(annotations)) is None:
        return []
    key, value = item
    try:
        duration = parse_go_duration(value)
    except ValueError:
        return [problems.invalid_value(value, (*path, key))]
    if not low <= duration <= WINDOW_MAX:
        bounds = format_go_duration(low), format_go_duration(WINDOW_MAX)
        return [problems.out_of_bounds(value, *bounds, (*path, key))]
    if whole_seconds and duration.microseconds:
        return [Problem((*path, key), "must be specified with at most second precision")]
    return []
