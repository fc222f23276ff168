"""``config-autoscaler`` checked as Knative's ``NewConfigFromMap`` checks it.

The KPA settings come out as ``AutoscalerConfig`` field names and values
(:data:`AutoscalerOverrides`) for the platform to lay over the ones ``unkai up`` was
started with (the API layer cannot name the autoscaler's own type). Messages are
Knative's. An HPA class and a changed ``activator-capacity`` are refused: there is no
HPA here, and the activator has no capacity to set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from unkai.api.knative.configmaps import Reader, exact, go_bool, go_float, go_int, seconds
from unkai.api.knative.durations import format_go_duration
from unkai.api.knative.problems import go_value
from unkai.api.yamlsource import Problem

AutoscalerOverrides = Mapping[str, Any]
"""``AutoscalerConfig`` field names (``stable_window``) and the values the map gives."""

_AUTOSCALER_FLOATS = (
    "container-concurrency-target-percentage",
    "container-concurrency-target-default",
    "requests-per-second-target-default",
    "target-burst-capacity",
    "panic-window-percentage",
    "panic-threshold-percentage",
    "max-scale-up-rate",
    "max-scale-down-rate",
)
_AUTOSCALER_INTS = ("initial-scale", "min-scale", "max-scale", "max-scale-limit")
_AUTOSCALER_DURATIONS = (
    "stable-window",
    "scale-down-delay",
    "scale-to-zero-grace-period",
    "scale-to-zero-pod-retention-period",
)
_AUTOSCALER_BOOLS = ("enable-scale-to-zero", "allow-zero-initial-scale")
KPA = "kpa.autoscaling.knative.dev"


def autoscaler(data: Mapping[str, str]) -> tuple[AutoscalerOverrides, list[Problem]]:
    """The KPA settings the map gives, checked as Knative's ``NewConfigFromMap`` does
    (with Knative's defaults for what it leaves out, since the checks relate keys)."""
    reader = Reader(data)
    parsers: list[tuple[tuple[str, ...], Callable[[str], Any]]] = [
        (_AUTOSCALER_FLOATS, go_float),
        (_AUTOSCALER_INTS, go_int),
        (_AUTOSCALER_DURATIONS, seconds),
        (_AUTOSCALER_BOOLS, go_bool),
    ]
    given: dict[str, Any] = {}
    for keys, parse in parsers:
        for key in keys:
            value = reader.value(key, parse)
            if value is not None:
                given[key] = value
    reader.fixed(
        "pod-autoscaler-class", KPA, "unkai up scales with the KPA only (no HPA)", same=exact
    )
    capacity = reader.value("activator-capacity", go_float)
    if capacity is not None and capacity < 1:
        reader.bad(
            "activator-capacity", f"activator-capacity = {go_value(capacity)}, must be at least 1"
        )
    elif capacity is not None and capacity != 100:
        why = "the activator holds requests without a per-activator capacity to set"
        reader.bad(
            "activator-capacity",
            f'"{data["activator-capacity"]}" is not supported by unkai up: {why}',
        )
    if not reader.problems:
        for key, message in _autoscaler_rules({**_KNATIVE_AUTOSCALER, **given}):
            reader.bad(key, message)
    overrides = {key.replace("-", "_"): value for key, value in given.items()}
    return overrides, reader.problems


_KNATIVE_AUTOSCALER: dict[str, Any] = {
    "container-concurrency-target-percentage": 70.0,
    "container-concurrency-target-default": 100.0,
    "requests-per-second-target-default": 200.0,
    "target-burst-capacity": 211.0,
    "panic-window-percentage": 10.0,
    "max-scale-up-rate": 1000.0,
    "max-scale-down-rate": 2.0,
    "initial-scale": 1,
    "min-scale": 0,
    "max-scale": 0,
    "max-scale-limit": 0,
    "stable-window": 60.0,
    "scale-down-delay": 0.0,
    "scale-to-zero-grace-period": 30.0,
    "scale-to-zero-pod-retention-period": 0.0,
    "allow-zero-initial-scale": False,
}


def _autoscaler_rules(c: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Knative's ``validate`` for ``config-autoscaler``, each broken rule with its key."""
    fraction = c["container-concurrency-target-percentage"]
    fraction = fraction / 100 if fraction > 1 else fraction
    window, delay = c["stable-window"], c["scale-down-delay"]
    max_scale, limit = c["max-scale"], c["max-scale-limit"]
    lowest_max = 1 if limit > 0 else 0
    grace, burst = c["scale-to-zero-grace-period"], c["target-burst-capacity"]
    panic = go_value(c["panic-window-percentage"])
    rules = [
        ("scale-to-zero-grace-period", grace <= 0,
         f"scale-to-zero-grace-period must be positive, was: {_dur(grace)}"),
        ("scale-down-delay", delay < 0, f"scale-down-delay cannot be negative, was: {_dur(delay)}"),
        ("scale-down-delay", delay != round(delay),
         f"scale-down-delay = {_dur(delay)}, must be specified with at most second precision"),
        ("scale-to-zero-pod-retention-period", c["scale-to-zero-pod-retention-period"] < 0,
         "scale-to-zero-pod-retention-period cannot be negative, was: "
         f"{_dur(c['scale-to-zero-pod-retention-period'])}"),
        ("target-burst-capacity", burst < 0 and burst != -1,
         "target-burst-capacity must be either non-negative or -1 (for unlimited),"
         f" was: {burst:f}"),
        ("container-concurrency-target-percentage", not 0 < fraction <= 1,
         f"container-concurrency-target-percentage = {fraction:f}"
         " is outside of valid range of (0, 100]"),
        ("requests-per-second-target-default", c["requests-per-second-target-default"] < 0.01,
         "requests-per-second-target-default must be at least 0.01, was: "
         f"{go_value(c['requests-per-second-target-default'])}"),
        ("max-scale-up-rate", c["max-scale-up-rate"] <= 1,
         f"max-scale-up-rate = {go_value(c['max-scale-up-rate'])}, must be greater than 1.0"),
        ("max-scale-down-rate", c["max-scale-down-rate"] <= 1,
         f"max-scale-down-rate = {go_value(c['max-scale-down-rate'])}, must be greater than 1.0"),
        ("stable-window", not 6 <= window <= 3600,
         f"stable-window = {_dur(window)}, must be in [6s; 1h0m0s] range"),
        ("stable-window", window != round(window),
         f"stable-window = {_dur(window)}, must be specified with at most second precision"),
        ("panic-window-percentage", not 1 <= c["panic-window-percentage"] <= 100,
         f"panic-window-percentage = {panic}, must be in [1, 100] interval"),
        ("initial-scale",
         c["initial-scale"] < 0 or (c["initial-scale"] == 0 and not c["allow-zero-initial-scale"]),
         f"initial-scale = {c['initial-scale']}, must be at least 0 (or at least 1 when "
         "allow-zero-initial-scale is false)"),
        ("max-scale", max_scale < lowest_max or (limit > 0 and max_scale > limit),
         f"max-scale = {max_scale}, must be in [{lowest_max}, max-scale-limit({limit})] range"),
        ("max-scale-limit", limit < 0, f"max-scale-limit = {limit}, must be at least 0"),
        ("min-scale", c["min-scale"] < 0, f"min-scale = {c['min-scale']}, must be at least 0"),
        ("min-scale", 0 < max_scale < c["min-scale"],
         f"min-scale = {c['min-scale']}, must be less than or equal to max-scale ({max_scale})"),
    ]  # fmt: skip
    return [(key, message) for key, broken, message in rules if broken]


def _dur(seconds: float) -> str:
    return format_go_duration(timedelta(seconds=seconds))
