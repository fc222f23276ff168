"""How long to wait before starting again what failed: exponential backoff, one rule.

Instances that crash, supervised platform tasks that fail (:mod:`.supervision`) and
reconciles that fail (``controllers.retry``) all wait ``base × 2^(n-1)`` after the n-th
consecutive failure, capped; each picks its own base and cap. Pure, with time passed
in, so the data plane's restart loop is a thin shell around it::

    loop = CrashLoop()
    while wanted:
        instance = await runner.start(spec)          # (a failed start counts as an exit)
        ended = await instance.wait()
        loop = loop.after_exit(ran_for=instance.uptime())
        await asyncio.sleep(loop.delay)

The n-th consecutive crash waits ``0.1 s × 2^(n-1)``, at most 30 s (0.1, 0.2, 0.4, …,
25.6, 30, 30, …), like the kubelet's CrashLoopBackOff but quicker to start, since a
local function usually crashes for a reason fixed by the next deploy. An instance that
ran healthy for ``healthy_after`` seconds before it exited starts the count again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

BASE_DELAY: Final = 0.1
MAX_DELAY: Final = 30.0
HEALTHY_AFTER: Final = 60.0


def restart_delay(failures: int, *, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> float:
    """Seconds to wait before restarting after ``failures`` consecutive crashes (0: none)."""
    if failures <= 0:
        return 0.0
    return min(cap, base * 2.0 ** min(failures - 1, 64))


@dataclass(frozen=True)
class CrashLoop:
    """Consecutive crashes of one revision's instances, and the delay they call for."""

    failures: int = 0

    def after_exit(self, *, ran_for: float, healthy_after: float = HEALTHY_AFTER) -> CrashLoop:
        """The count after an instance exited having run ``ran_for`` seconds."""
        return CrashLoop(1 if ran_for >= healthy_after else self.failures + 1)

    @property
    def delay(self) -> float:
        return restart_delay(self.failures)
