"""The KPA decision (``decide``) against the reference's worked examples and rules.

Aspects: the stable formula and the doc caveat (utilization applies), max scale up and
down rates, reachability, activation scale, panic (enter, ratchet, extend, exit after
a stable window), the startup rule, scale-down delay, excess burst capacity, the rps
metric; and, as properties, that desired stays within the rate limits.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unkai.platform.autoscaler import AutoscalerConfig, Observation, revision_spec
from unkai.platform.autoscaler.decider import DeciderState, decide, excess_burst_capacity

A = "autoscaling.knative.dev/"


def spec(cc: int = 0, config: AutoscalerConfig | None = None, reachable: bool = True, **anns):
    named = {A + key.replace("_", "-"): value for key, value in anns.items()}
    return revision_spec(
        named, container_concurrency=cc, config=config or AutoscalerConfig(), reachable=reachable
    )


def load(stable: float, panic: float | None = None) -> Observation:
    panic = stable if panic is None else panic
    return Observation(stable, panic, stable, panic)


@pytest.mark.parametrize(
    ("revision", "stable", "panic", "ready", "desired", "panicking"),
    [
        pytest.param(spec(), 150, 150, 3, 3, False, id="stable 150 at target 70 -> 3"),
        pytest.param(spec(), 300, 300, 1, 5, True, id="1 pod, panic 300 -> 5, panicking"),
        pytest.param(spec(target="10"), 50, 50, 8, 8, False, id="doc caveat 50/(10x70%) -> 8"),
        pytest.param(spec(), 0, 0, 0, 0, False, id="idle at zero stays zero"),
        pytest.param(spec(), 1, 1, 0, 1, False, id="one request at zero -> 1"),
        pytest.param(spec(), 0, 0, 10, 5, False, id="halve at most per tick"),
        pytest.param(spec(reachable=False), 0, 0, 10, 0, False, id="unreachable drops at once"),
        pytest.param(
            spec(config=AutoscalerConfig(max_scale_up_rate=1.5)),
            700,
            700,
            2,
            3,
            True,
            id="max scale up rate: ceil(1.5 x 2)",
        ),
        pytest.param(
            spec(config=AutoscalerConfig(max_scale_down_rate=4)),
            0,
            0,
            10,
            2,
            False,
            id="max scale down rate: floor(10 / 4)",
        ),
        pytest.param(spec(activation_scale="3"), 10, 10, 0, 3, False, id="activation scale"),
        pytest.param(spec(activation_scale="3"), 0, 0, 0, 0, False, id="activation idle -> 0"),
        pytest.param(spec(activation_scale="3"), 280, 280, 3, 4, False, id="above activation"),
        pytest.param(spec(metric="rps"), 300, 300, 3, 3, False, id="rps: ceil(300 / 140)"),
        pytest.param(spec(10), 100, 100, 15, 15, False, id="CC 10 -> target 7"),
        pytest.param(spec(), 100, 420, 3, 6, True, id="panic picks the panic count"),
        pytest.param(spec(), 420, 100, 3, 6, False, id="stable above panic, no panic"),
        pytest.param(spec(), 100, 160, 2, 2, False, id="3 / 2 pods < threshold 2"),
        pytest.param(
            spec(panic_threshold_percentage="110"), 100, 160, 2, 3, True, id="3 / 2 >= 1.1"
        ),
    ],
)
def test_one_decision(revision, stable, panic, ready, desired, panicking) -> None:
    result, state = decide(
        revision, DeciderState(), observed=load(stable, panic), ready_pods=ready, now=100.0
    )
    assert (result.desired, result.panicking, state.panicking) == (desired, panicking, panicking)


def test_rps_metric_reads_rps_not_concurrency() -> None:
    observed = Observation(
        stable_concurrency=1000, panic_concurrency=1000, stable_rps=10, panic_rps=10
    )
    result, _ = decide(spec(metric="rps"), DeciderState(), observed=observed, ready_pods=1, now=0)
    assert result.desired == 1


def run(revision, ticks, state=None):
    """Decide at each ``(now, stable, panic, ready)``; the desired counts in order."""
    state = state or DeciderState()
    seen = []
    for now, stable, panic, ready in ticks:
        result, state = decide(
            revision, state, observed=load(stable, panic), ready_pods=ready, now=now
        )
        seen.append((result.desired, result.panicking))
    return seen


def test_panic_holds_until_a_stable_window_without_overload() -> None:
    """1 pod with a 6 s average of 300 panics to 5 and stays there for 60 s after the
    last over-threshold tick, however low the load gets."""
    ticks = [
        (0, 50, 300, 1),  # dppc 5, 5/1 >= 2: panic -> 5
        (2, 120, 80, 5),  # below threshold; ratchet keeps 5
        (30, 20, 10, 5),
        (60, 20, 10, 5),  # 0 + 60 is not before 60: still panicking
        (62, 20, 10, 5),  # panic over: stable count, at most halved
    ]
    assert run(spec(), ticks) == [(5, True), (5, True), (5, True), (5, True), (2, False)]


def test_panic_extends_on_each_overloaded_tick_and_ratchets_up() -> None:
    ticks = [
        (0, 50, 300, 1),  # 5
        (40, 100, 1400, 5),  # dppc 20 / 5 >= 2: extend, up to 20
        (90, 20, 10, 20),  # 40 + 60 > 90: still panicking at 20
        (102, 20, 10, 20),  # over: floor(20 / 2) = 10
    ]
    assert run(spec(), ticks) == [(5, True), (20, True), (20, True), (10, False)]


def test_startup_with_several_pods_starts_in_panic() -> None:
    state = DeciderState.starting(ready_pods=4, now=0.0)
    assert state.panicking
    assert run(spec(), [(2, 0, 0, 4), (61, 0, 0, 4)], state) == [(4, True), (2, False)]
    assert not DeciderState.starting(ready_pods=1, now=0.0).panicking


def test_scale_down_delay_keeps_the_maximum_of_the_window() -> None:
    """Delay 10 s at 2 s ticks: five tick slots. The 5 of t=0 holds until t=10, when it
    leaves the window and the halved count, 2, takes over."""
    revision = spec(scale_down_delay="10s")
    ticks = [(0, 350, 350, 5), (2, 70, 70, 5), (8, 70, 70, 5), (10, 70, 70, 5)]
    assert [d for d, _ in run(revision, ticks)] == [5, 5, 5, 2]


def test_scale_down_delay_does_not_delay_scale_up() -> None:
    revision = spec(scale_down_delay="1m")
    ticks = [(0, 70, 70, 1), (2, 140, 140, 1)]
    assert [d for d, _ in run(revision, ticks)] == [1, 2]


@pytest.mark.parametrize(
    ("tbc", "ready", "panic", "expected"),
    [
        ("211", 3, 50, 39),
        ("211", 1, 0, -111),
        ("0", 3, 50, 0),
        ("-1", 3, 50, -1),
        ("10", 0, 0, -10),
    ],
)
def test_excess_burst_capacity(tbc, ready, panic, expected) -> None:
    revision = spec(target_burst_capacity=tbc)
    assert excess_burst_capacity(revision, ready_pods=ready, panic=panic) == expected


@given(
    stable=st.floats(0, 1e6),
    panic=st.floats(0, 1e6),
    ready=st.integers(0, 500),
    up=st.floats(1.01, 1000),
    down=st.floats(1.01, 100),
)
def test_rates_bound_every_step(stable, panic, ready, up, down) -> None:
    config = AutoscalerConfig(max_scale_up_rate=up, max_scale_down_rate=down)
    result, _ = decide(
        spec(config=config), DeciderState(), observed=load(stable, panic), ready_pods=ready, now=0
    )
    pods = max(1, ready)
    assert math.floor(pods / down) <= result.desired <= math.ceil(up * pods)
