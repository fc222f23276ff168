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

After ``MAX_ATTEMPTS`` consecutive failures (about 100 s of trying) the loop is
:attr:`~CrashLoop.exhausted` and the data plane stops starting instances of that
revision: a function that failed ten times in a row fails for a reason in its code or
its requirements, and retrying for ever only fills its log and holds a core. The
kubelet keeps retrying every five minutes; here the next try is the user's (a new
revision, or ``unkai deploy`` again, which makes one), said in the revision's status.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

BASE_DELAY: Final = 0.1
MAX_DELAY: Final = 30.0
HEALTHY_AFTER: Final = 60.0
MAX_ATTEMPTS: Final = 10


def restart_delay(failures: int, *, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> float:
    """Seconds to wait before restarting after ``failures`` consecutive crashes (0: none)."""
    if failures <= 0:
        return 0.0
    return min(cap, base * 2.0 ** min(failures - 1, 64))


@dataclass(frozen=True)
class CrashLoop:
    """Consecutive crashes of one revision's instances, the delay they call for, and
    whether to stop trying (``base``, ``cap`` and ``attempts`` are the policy)."""

    failures: int = 0
    base: float = BASE_DELAY
    cap: float = MAX_DELAY
    attempts: int = MAX_ATTEMPTS

    def after_exit(self, *, ran_for: float, healthy_after: float = HEALTHY_AFTER) -> CrashLoop:
        """The count after an instance exited having run ``ran_for`` seconds."""
        return replace(self, failures=1 if ran_for >= healthy_after else self.failures + 1)

    @property
    def delay(self) -> float:
        return restart_delay(self.failures, base=self.base, cap=self.cap)

    @property
    def exhausted(self) -> bool:
        """Whether to start no more instances until the revision changes."""
        return self.failures >= self.attempts
