"""From the decider's recommendation to replicas (``settle``): Knative's KPA reconciler.

Aspects: min/max bounds and reachability, initial scale until reached once, scale to
zero only after a stable window Active and then the grace period Inactive (or the
grace period with the activator in the path), pod retention, enable-scale-to-zero off,
the activation timeout, and the Active condition's transitions.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unkai.platform.autoscaler import Activity, AutoscalerConfig, revision_spec
from unkai.platform.autoscaler.activation import ActivationState, apply_bounds, settle

A = "autoscaling.knative.dev/"
ACTIVE = ActivationState(Activity.ACTIVE, since=0.0, initialized=True)


def spec(config: AutoscalerConfig | None = None, reachable: bool = True, **anns: str):
    named = {A + key.replace("_", "-"): value for key, value in anns.items()}
    return revision_spec(
        named, container_concurrency=0, config=config or AutoscalerConfig(), reachable=reachable
    )


def step(revision, state, recommended, *, now, ready=1, ebc=0):
    return settle(
        revision,
        state,
        recommended=recommended,
        excess_burst_capacity=ebc,
        ready_pods=ready,
        now=now,
    )


@pytest.mark.parametrize(
    ("annotations", "reachable", "recommended", "replicas"),
    [
        ({}, True, 4, 4),
        ({"min_scale": "2", "max_scale": "5"}, True, 1, 2),
        ({"min_scale": "2", "max_scale": "5"}, True, 9, 5),
        ({"min_scale": "2"}, False, 1, 1),  # min-scale counts only while routed to
        ({"max_scale": "3"}, False, 9, 3),
    ],
)
def test_bounds(annotations, reachable, recommended, replicas) -> None:
    settled, _ = step(spec(reachable=reachable, **annotations), ACTIVE, recommended, now=1)
    assert settled.replicas == replicas


@given(low=st.integers(0, 50), extra=st.integers(0, 50), desired=st.integers(-1, 10_000))
def test_bounds_hold_for_any_recommendation(low, extra, desired) -> None:
    high = low + extra
    bounded = apply_bounds(low, high, desired)
    assert bounded >= low
    assert high == 0 or bounded <= high


@given(
    low=st.integers(1, 20),
    extra=st.integers(0, 20),
    recommended=st.one_of(st.none(), st.integers(0, 10_000)),
    now=st.floats(0, 10_000),
    activity=st.sampled_from(Activity),
)
def test_applied_replicas_stay_within_min_and_max(low, extra, recommended, now, activity) -> None:
    revision = spec(min_scale=str(low), max_scale=str(low + extra))
    state = ActivationState(activity, since=0.0, initialized=True)
    settled, _ = step(revision, state, recommended, now=now)
    if settled.replicas is not None:
        assert low <= settled.replicas <= low + extra


def test_new_revision_is_raised_to_initial_scale_until_reached() -> None:
    revision = spec(initial_scale="3")
    created = ActivationState.created(now=0.0)
    settled, state = step(revision, created, None, now=0, ready=0)
    assert (settled.replicas, state.activity, state.reason) == (3, Activity.ACTIVATING, "Queued")
    settled, state = step(revision, state, 1, now=2, ready=2)
    assert settled.replicas == 3  # not reached yet
    settled, state = step(revision, state, 1, now=4, ready=3)
    assert (state.initialized, state.activity) == (True, Activity.ACTIVE)
    settled, state = step(revision, state, 1, now=6, ready=3)
    assert settled.replicas == 1  # initial scale no longer matters


def test_unknown_recommendation_leaves_an_active_revision_alone() -> None:
    settled, state = step(spec(), ACTIVE, None, now=5)
    assert (settled.want, settled.replicas, state) == (None, None, ACTIVE)


def scale_to_zero(revision, *, until, ebc=0):
    """Recommend 0 every 2 s to a revision Active since 0: the replicas applied before
    zero, the time zero was first applied (or None), and the final state."""
    state, kept, zero_at = ACTIVE, [], None
    for now in range(2, until + 1, 2):
        settled, state = step(revision, state, 0, now=now, ebc=ebc)
        if settled.replicas == 0:
            zero_at = now if zero_at is None else zero_at
        elif settled.replicas is not None:
            kept.append((now, settled.replicas))
    return kept, zero_at, state


def test_scale_to_zero_after_stable_window_then_grace_period() -> None:
    """Active since 0: kept at 1 until 60 s, Inactive from 60, zero 30 s later."""
    kept, zero_at, state = scale_to_zero(spec(), until=100)
    assert zero_at == 90
    assert kept == [(now, 1) for now in range(2, 60, 2)]
    assert (state.activity, state.reason, state.since) == (Activity.INACTIVE, "NoTraffic", 60)


def test_activator_already_in_path_skips_the_grace_period() -> None:
    """Excess burst capacity < 0 put the activator in the path long ago (Knative's SKS
    Proxy mode), so zero follows right after the revision turns Inactive."""
    _, zero_at, _ = scale_to_zero(spec(), until=70, ebc=-111)
    assert zero_at == 62


def test_pod_retention_extends_the_wait() -> None:
    _, zero_at, _ = scale_to_zero(spec(scale_to_zero_pod_retention_period="2m"), until=200)
    assert zero_at == 180


def test_scale_to_zero_disabled_keeps_one() -> None:
    revision = spec(AutoscalerConfig(enable_scale_to_zero=False))
    kept, zero_at, state = scale_to_zero(revision, until=300)
    assert zero_at is None
    assert {replicas for _, replicas in kept} == {1}
    assert state.activity is Activity.ACTIVE


def test_wakes_from_inactive_when_load_returns() -> None:
    _, _, inactive = scale_to_zero(spec(), until=100)
    settled, state = step(spec(), inactive, 1, now=101, ready=0)
    assert (settled.replicas, settled.activator_in_path) == (1, False)
    assert (state.activity, state.reason) == (Activity.ACTIVATING, "Queued")
    _, state = step(spec(), state, 1, now=102, ready=1)
    assert (state.activity, state.since) == (Activity.ACTIVE, 102)


def test_stuck_activating_times_out_to_zero() -> None:
    created = ActivationState.created(now=0.0)
    _, state = step(spec(), created, None, now=0, ready=0)
    settled, state = step(spec(), state, 0, now=630, ready=0)
    assert settled.replicas is None
    settled, state = step(spec(), state, 0, now=631, ready=0)
    assert settled.replicas == 0
    assert (state.activity, state.reason) == (Activity.INACTIVE, "TimedOut")


@pytest.mark.parametrize(
    ("want", "ebc", "activity", "in_path"),
    [
        (0, 5, Activity.ACTIVE, True),
        (3, -1, Activity.ACTIVE, True),
        (3, 0, Activity.ACTIVE, False),
        (None, 0, Activity.INACTIVE, True),
    ],
)
def test_activator_in_path(want, ebc, activity, in_path) -> None:
    state = ActivationState(activity, since=0.0, initialized=True)
    settled, after = step(spec(), state, want, now=100, ebc=ebc)
    assert settled.activator_in_path is in_path
    assert (after.proxy_since is not None) is in_path
