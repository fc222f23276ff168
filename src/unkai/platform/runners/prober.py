"""The probe loop around ``probing``'s pure verdicts: a thin shell, one per instance.

:func:`first_ready` is the start probe (how ``Instance.until_ready`` waits);
:func:`watch` runs from then on until the instance ends: the readiness probe, whose
verdict turning takes the instance out of the gateway (and back in when it passes
again), and the liveness probe, whose failure has the instance stopped and reported
with reason ``LivenessProbeFailed``, after which the data plane starts a new one, as
a kubelet restarts the container.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Final

from unkai.platform.runners import probe as tries
from unkai.platform.runners.probing import Probe, ProbeState, next_due

LIVENESS_FAILED: Final = "LivenessProbeFailed"
TCP: Final = Probe("tcpSocket", period=1.0, aggressive=True)
"""The start probe of an instance spec that names none: a connection, as Knative."""


async def first_ready(readiness: Probe | None, target: tries.Target, *, started: float) -> None:
    """Return once the instance passes its readiness probe: after ``initialDelaySeconds``,
    aggressively for Knative's ``periodSeconds: 0``, else every period until
    ``successThreshold`` passes in a row. The caller bounds the wait."""
    probe = readiness or TCP
    await _sleep_until(started + probe.initial_delay)
    if probe.aggressive:
        await tries.until_ready(probe, target)
        return
    state = ProbeState.readiness()
    while True:
        passed, _ = await tries.attempt(probe, target, limit=probe.timeout)
        state = state.after(probe, passed, now=time.monotonic())
        if state.passing:
            return
        await _sleep_until(next_due(probe, state, started=started))


async def watch(
    readiness: Probe | None,
    liveness: Probe | None,
    target: tries.Target,
    *,
    started: float,
    serving: Callable[[bool, str], None],
    dead: Callable[[str], Awaitable[None]],
) -> None:
    """Probe a serving instance until cancelled. ``serving(False, why)`` when readiness
    fails (``True`` when it passes again); ``dead(why)`` when liveness fails."""
    loops = []
    if readiness is not None:
        loops.append(_readiness(readiness, target, serving))
    if liveness is not None:
        loops.append(_liveness(liveness, target, started=started, dead=dead))
    await asyncio.gather(*loops)


async def _readiness(
    probe: Probe, target: tries.Target, serving: Callable[[bool, str], None]
) -> None:
    state = ProbeState(passing=True, last_try=time.monotonic())
    while True:
        await _sleep_until(next_due(probe, state, started=0.0))
        passed, why = await tries.attempt(probe, target, limit=probe.timeout)
        after = state.after(probe, passed, now=time.monotonic())
        if after.passing != state.passing:
            serving(after.passing, why and f"Readiness probe failed: {why}")
        state = after


async def _liveness(
    probe: Probe,
    target: tries.Target,
    *,
    started: float,
    dead: Callable[[str], Awaitable[None]],
) -> None:
    state = ProbeState.liveness()
    while state.passing:
        await _sleep_until(next_due(probe, state, started=started))
        passed, why = await tries.attempt(probe, target, limit=probe.timeout)
        state = state.after(probe, passed, now=time.monotonic())
        if not state.passing:
            await dead(f"Liveness probe failed: {why}")


async def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
