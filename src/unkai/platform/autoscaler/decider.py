"""The KPA decision: desired pods from observed load, as a pure function of time.

:func:`decide` is Knative's ``autoscaler.Scale`` (``pkg/autoscaler/scaling/
autoscaler.go``) with its mutable fields (panic time, max panic pods, the scale-down
delay window) moved into an immutable :class:`DeciderState` that goes in and comes
out. The steps, in Knative's order:

1. ``ready = max(1, ready pods)``; ``maxScaleUp = ceil(up rate × ready)``;
   ``maxScaleDown = floor(ready / down rate)`` if reachable, else 0.
2. ``dspc = ceil(stable / target)``, ``dppc = ceil(panic / target)``, each clamped
   to ``[maxScaleDown, maxScaleUp]``; with activation-scale > 1, a non-zero
   unclamped count is raised to at least activation-scale.
3. ``dppc / ready ≥ panic threshold`` enters or extends panic; panic ends once the
   stable window has passed since the last over-threshold decision.
4. In panic, desired is ``max(stable, panic)`` counts and never below the highest
   count of this panic (a ratchet).
5. With scale-down delay, desired is the highest recommendation of the delay window.
6. Excess burst capacity ``floor(ready pods × total − TBC − panic)`` (0 or -1 when TBC is).

When the collector has no data, Knative returns an invalid result and keeps its state;
the caller does the same by not calling :func:`decide`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from unkai.platform.autoscaler.collector import Observation
from unkai.platform.autoscaler.spec import RevisionSpec

# A descending-maxima window: (tick index, desired) pairs, values strictly decreasing.
MaxWindow = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class DeciderState:
    """What one decision leaves for the next: panic start and ratchet, delay window."""

    panic_time: float | None = None
    max_panic_pods: int = 0
    delay_window: MaxWindow = ()

    @classmethod
    def starting(cls, *, ready_pods: int, now: float) -> DeciderState:
        """A fresh decider panics if it finds more than one pod, so as not to scale
        down on the little data it has (e.g. after a restart)."""
        if ready_pods > 1:
            return cls(panic_time=now, max_panic_pods=ready_pods)
        return cls(max_panic_pods=ready_pods)

    def surged(self, pods: int, *, now: float) -> DeciderState:
        """Panic now, holding at least ``pods``: requests queued for that many
        (:mod:`.surge`). The ratchet keeps them until a stable window passes with no
        over-threshold decision, as after any panic."""
        return DeciderState(now, max(self.max_panic_pods, pods), self.delay_window)

    @property
    def panicking(self) -> bool:
        return self.panic_time is not None


@dataclass(frozen=True)
class Recommendation:
    """One decision: pods wanted, spare burst capacity, and the load it saw."""

    desired: int
    excess_burst_capacity: int
    panicking: bool
    stable: float
    panic: float


def decide(
    spec: RevisionSpec,
    state: DeciderState,
    *,
    observed: Observation,
    ready_pods: int,
    now: float,
) -> tuple[Recommendation, DeciderState]:
    """The desired pod count for a revision at ``now``, and the decider's next state."""
    stable, panic = observed.of(spec.metric)
    ready = max(1, ready_pods)
    max_up = math.ceil(spec.max_scale_up_rate * ready)
    max_down = math.floor(ready / spec.max_scale_down_rate) if spec.reachable else 0
    dspc = math.ceil(stable / spec.target_value)
    dppc = math.ceil(panic / spec.target_value)
    desired_stable = _raised(min(max(dspc, max_down), max_up), dspc, spec.activation_scale)
    desired_panic = _raised(min(max(dppc, max_down), max_up), dppc, spec.activation_scale)

    panic_time, max_panic = state.panic_time, state.max_panic_pods
    if dppc / ready >= spec.panic_threshold:
        panic_time = now
    elif panic_time is not None and panic_time + spec.stable_window < now:
        panic_time, max_panic = None, 0

    desired = desired_stable
    if panic_time is not None:
        max_panic = max(max_panic, desired_stable, desired_panic)
        desired = max_panic

    delay_window = state.delay_window
    if spec.scale_down_delay > 0:
        size = math.ceil(spec.scale_down_delay / spec.tick_interval)
        delay_window = _record_max(
            delay_window, size=size, index=math.floor(now / spec.tick_interval), value=desired
        )
        desired = delay_window[0][1]

    recommendation = Recommendation(
        desired=desired,
        excess_burst_capacity=excess_burst_capacity(spec, ready_pods=ready_pods, panic=panic),
        panicking=panic_time is not None,
        stable=stable,
        panic=panic,
    )
    return recommendation, DeciderState(panic_time, max_panic, delay_window)


def excess_burst_capacity(spec: RevisionSpec, *, ready_pods: int, panic: float) -> int:
    """Spare capacity beyond the burst the revision must absorb; < 0 keeps the activator
    in the path. 0 when target-burst-capacity is 0, -1 when it is -1."""
    tbc = spec.target_burst_capacity
    if tbc == 0 or tbc == -1:
        return int(tbc)
    return math.floor(ready_pods * spec.total_value - tbc - panic)


def _raised(clamped: int, unclamped: int, activation_scale: int) -> int:
    if activation_scale > 1 and unclamped > 0:
        return max(clamped, activation_scale)
    return clamped


def _record_max(window: MaxWindow, *, size: int, index: int, value: int) -> MaxWindow:
    """Knative's ``max.TimeWindow.Record``: keep the maxima of the last ``size`` ticks."""
    kept = tuple((at, seen) for at, seen in window if seen > value and index - at < size)
    if kept and kept[-1][0] == index:
        value = max(value, kept[-1][1])
        kept = kept[:-1]
    return (*kept, (index, value))
