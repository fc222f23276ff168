"""Test doubles for the autoscaler loop: fake time and an in-memory data plane."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from unkai.platform.contracts import RevisionKey


@dataclass
class FakeClock:
    """A clock that moves only when told; :meth:`sleep` waits for :meth:`advance`."""

    now: float = 0.0
    _sleepers: list[tuple[float, asyncio.Future[None]]] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, future))
        await future

    async def advance(self, seconds: float) -> None:
        """Move time on, wake the sleepers that are due, and let them run."""
        self.now += seconds
        for deadline, future in list(self._sleepers):
            if deadline <= self.now and not future.done():
                future.set_result(None)
        self._sleepers = [(d, f) for d, f in self._sleepers if not f.done()]
        await settle()


async def settle() -> None:
    """Let every ready task run until the loop is idle again."""
    for _ in range(50):
        await asyncio.sleep(0)


@dataclass
class InMemoryDataPlane:
    """Implements ``Scaler`` and ``ReadyPods``; instances are ready as soon as asked for,
    unless ``instant`` is off (then a test sets ``ready`` itself)."""

    instant: bool = True
    ready_pods: dict[RevisionKey, int] = field(default_factory=dict)
    calls: list[tuple[RevisionKey, int, float]] = field(default_factory=list)
    clock: FakeClock | None = None

    async def scale(self, key: RevisionKey, desired: int) -> None:
        self.calls.append((key, desired, self.clock.now if self.clock else 0.0))
        if self.instant:
            self.ready_pods[key] = desired

    def ready(self, key: RevisionKey) -> int:
        return self.ready_pods.get(key, 0)

    def scaled_to(self) -> list[int]:
        return [desired for _, desired, _ in self.calls]
