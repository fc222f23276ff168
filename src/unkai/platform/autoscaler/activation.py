"""From a recommendation to a replica count: bounds, initial scale and scale to zero.

:func:`settle` is what Knative's KPA reconciler does with the decider's output
(``pkg/reconciler/autoscaling/kpa/{kpa,scaler}.go``), as a pure function:

* bounds: ``min``/``max`` scale (min only while reachable); until the revision has once
  reached its initial scale, ``min = max(initial, min)`` when initial > 1;
* scale to zero, only when all hold: scale to zero is enabled (else 1); the revision
  has been Active for a stable window (it is then marked Inactive, kept at 1 meanwhile);
  it has been Inactive for ``max(grace, pod retention)``, or the activator has been in
  its path for the grace period and pod retention has passed. A revision stuck
  Activating past ``activation_timeout`` goes to zero too;
* the Active condition (Activating, Active, Inactive) from wanted and ready counts.

Knative probes the activator before scaling to zero. Unkai's gateway always holds the
activator, ready to take a revision's traffic, so that probe always succeeds here.
The activator is in the path (Knative's SKS Proxy mode) when the revision wants zero
pods or its excess burst capacity is negative.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from unkai.platform.autoscaler.spec import RevisionSpec


class Activity(StrEnum):
    """The PodAutoscaler's ``Active`` condition: Unknown, True, False."""

    ACTIVATING = "Activating"
    ACTIVE = "Active"
    INACTIVE = "Inactive"


MESSAGES = {
    "Queued": "Requests to the target are being buffered as resources are provisioned.",
    "NoTraffic": "The target is not receiving traffic.",
    "TimedOut": "The target could not be activated.",
}


@dataclass(frozen=True)
class ActivationState:
    """Condition, its last transition, whether initial scale was reached, and since
    when the activator has been in the path."""

    activity: Activity
    since: float
    reason: str = ""
    initialized: bool = False
    proxy_since: float | None = None

    @classmethod
    def created(cls, *, now: float) -> ActivationState:
        """A new revision is Activating (Knative initializes ``Active`` to Unknown)."""
        return cls(Activity.ACTIVATING, since=now)


@dataclass(frozen=True)
class Settled:
    """``want`` is the wanted scale (``None``: unknown yet); ``replicas`` what to apply
    now (``None``: leave the instances as they are)."""

    want: int | None
    replicas: int | None
    activator_in_path: bool


def settle(
    spec: RevisionSpec,
    state: ActivationState,
    *,
    recommended: int | None,
    excess_burst_capacity: int,
    ready_pods: int,
    now: float,
) -> tuple[Settled, ActivationState]:
    """Apply bounds and the scale-to-zero rules to the decider's latest ``recommended``."""
    want, apply = _scale(spec, state, recommended, now)
    in_path = (
        want == 0
        or excess_burst_capacity < 0
        or (want is None and state.activity is Activity.INACTIVE)
    )
    proxy_since = (now if state.proxy_since is None else state.proxy_since) if in_path else None
    state = _condition(spec, replace(state, proxy_since=proxy_since), want, ready_pods, now)
    return Settled(want, want if apply else None, in_path), state


def apply_bounds(low: int, high: int, desired: int) -> int:
    """Clamp to ``[low, high]``; ``high`` 0 means unlimited."""
    if desired < low:
        return low
    if high != 0 and desired > high:
        return high
    return desired


def _scale(
    spec: RevisionSpec, state: ActivationState, recommended: int | None, now: float
) -> tuple[int | None, bool]:
    if recommended is None and state.activity is not Activity.ACTIVATING:
        return None, False
    low, high = spec.bounds()
    if spec.initial_scale > 1 and not state.initialized:
        low = max(spec.initial_scale, low)
    desired = apply_bounds(low, high, -1 if recommended is None else recommended)
    if desired != 0:
        return desired, True
    if not spec.enable_scale_to_zero:
        return 1, True
    age = now - state.since
    if state.activity is Activity.ACTIVATING:
        return (0, True) if age > spec.activation_timeout else (None, False)
    if state.activity is Activity.ACTIVE:
        # Becoming Inactive first; until a stable window has passed, keep one pod.
        return (0, False) if age >= spec.stable_window else (1, True)
    retention = spec.pod_retention_period
    if age >= max(spec.scale_to_zero_grace_period, retention):
        return 0, True
    if retention > 0 and age < retention:
        return 0, False
    in_path_for = 0.0 if state.proxy_since is None else now - state.proxy_since
    return 0, spec.scale_to_zero_grace_period - in_path_for <= 0


def _condition(
    spec: RevisionSpec, state: ActivationState, want: int | None, ready: int, now: float
) -> ActivationState:
    """``computeActiveCondition``: the table in Knative's ``kpa.go``."""
    low, _ = spec.bounds()
    min_ready = max(low, 1) if state.initialized else max(low, spec.initial_scale)
    initialized = state.initialized or ready >= min_ready
    wants_pods = want is not None and want > 0
    activity, reason = state.activity, state.reason
    if want == 0 or min_ready == 0:
        timed_out = state.activity is Activity.ACTIVATING and min_ready > 0
        activity, reason = Activity.INACTIVE, ("TimedOut" if timed_out else "NoTraffic")
    elif ready < min_ready:
        if wants_pods or state.activity is not Activity.INACTIVE:
            activity, reason = Activity.ACTIVATING, "Queued"
        else:
            activity, reason = Activity.INACTIVE, "NoTraffic"
    elif wants_pods or state.activity is not Activity.INACTIVE:
        activity, reason = Activity.ACTIVE, ""
    since = state.since if (activity, reason) == (state.activity, state.reason) else now
    return replace(state, activity=activity, reason=reason, since=since, initialized=initialized)
