"""Gradual rollout: a configuration target's traffic moves to its new revision in steps.

With ``serving.knative.dev/rollout-duration`` on the Route (a Service passes its
annotations on) or ``rollout-duration`` in ``config-network``, a new latest-ready
revision does not take its configuration's whole share at once. As Knative's
``pkg/reconciler/route/traffic/rollout.go`` does it:

* the new revision gets 1% first, taken from the newest older revision that has any;
* once the gateway serves that 1% (:func:`observe_ready`), the time that took, at least
  1 s, is the step time ``min_step``; the rest moves in ``n = min(P-1, max(1,
  (duration-min_step)/min_step))`` equal steps of ``round((P-1)/n)`` percent, one every
  ``(duration-min_step)/n`` seconds (``duration`` at least 1 s after ``min_step``);
* each step takes from the newest older revisions first, and one drained to zero leaves;
* a newer revision mid-rollout starts its own 1% at once; a changed share of the target
  is added to the newest revision or taken from the oldest.

The state is the split itself (``status.traffic`` shows it, so a restarted controller
resumes from there) plus the step timing, which lives with the controller: lost on a
restart, it is measured again from the first reconcile after it. Times are seconds on
any clock the caller passes consistently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

Shares = tuple[tuple[str, int], ...]
"""``(revision, percent)``, oldest first; the last is the revision being rolled to."""


@dataclass(frozen=True)
class Timing:
    """When the current rollout's 1% started and, once observed, how it steps."""

    started: float
    step_size: int = 0
    step_seconds: float = 0.0
    next_step: float = 0.0


@dataclass(frozen=True)
class Rollout:
    """One configuration target (by tag) while and after it moves to its latest."""

    percent: int
    shares: Shares
    timing: Timing | None = None

    @property
    def done(self) -> bool:
        return len(self.shares) < 2


def step(previous: Rollout | None, *, latest: str, percent: int, now: float) -> Rollout:
    """The target's split now, given the last one. Without a previous split, or at 0
    or 1 percent, the latest takes the whole share at once (nothing to roll)."""
    if previous is None or not previous.shares or percent <= 1:
        return Rollout(percent, ((latest, percent),) if percent else ())
    shares = _adjusted(previous.shares, previous.percent, percent)
    if not shares:
        return Rollout(percent, ((latest, percent),))
    if shares[-1][0] == latest:
        if len(shares) < 2:
            return Rollout(percent, shares)
        # Timing lost (a restart) is measured again from now.
        ongoing = Rollout(percent, shares, previous.timing or Timing(started=now))
        return _stepped(ongoing, now)
    # A new revision: it takes 1% from the newest older revision that has traffic.
    taken = list(shares)
    for index in range(len(taken) - 1, -1, -1):
        name, share = taken[index]
        if share > 0:
            taken[index] = (name, share - 1)
            break
    kept = tuple((name, share) for name, share in taken if share > 0)
    return Rollout(percent, (*kept, (latest, 1)), Timing(started=now))


def observe_ready(rollout: Rollout, *, duration: float, now: float) -> Rollout:
    """The gateway serves the split: if the first 1% was waiting for this, work out the
    step size and time from how long it took."""
    timing = rollout.timing
    if rollout.done or timing is None or timing.step_size:
        return rollout
    min_step = max(1.0, math.ceil(now - timing.started))
    remaining = max(1.0, duration - min_step)
    steps = min(float(rollout.percent - 1), max(1.0, remaining / min_step))
    size = round((rollout.percent - 1) / steps)
    seconds = remaining / steps
    return replace(rollout, timing=replace(timing, step_size=size, step_seconds=seconds,
                                           next_step=now + seconds))  # fmt: skip


def _stepped(rollout: Rollout, now: float) -> Rollout:
    """Move one step to the newest revision if its time has come."""
    timing = rollout.timing
    if rollout.done or timing is None or not timing.step_size or now < timing.next_step:
        return rollout
    *older, (newest, share) = rollout.shares
    remaining = timing.step_size
    while remaining > 0 and older:
        name, have = older[-1]
        if have > remaining:
            older[-1] = (name, have - remaining)
            break
        remaining -= have
        older.pop()
    shares = (*older, (newest, min(rollout.percent, share + timing.step_size)))
    if len(shares) < 2:
        return Rollout(rollout.percent, shares)
    return Rollout(rollout.percent, shares, replace(timing, next_step=now + timing.step_seconds))


def _adjusted(shares: Shares, was: int, percent: int) -> Shares:
    """The split after the target's own share changed from ``was`` to ``percent``: a
    rise goes to the newest revision, a fall comes out of the oldest first."""
    if percent > was:
        *older, (newest, share) = shares
        return (*older, (newest, share + percent - was))
    cut = was - percent
    out: list[tuple[str, int]] = []
    for name, share in shares:
        taken = min(cut, share)
        cut -= taken
        if share - taken > 0:
            out.append((name, share - taken))
    return tuple(out)
