"""Requests queued beyond ready capacity start the instances they need at once.

Aspects: how many instances a queue needs (concurrency target, rps with
containerConcurrency, max-scale-up-rate); the gateway's throttle and the autoscaler
together: a step from 1 to 50 requests on a CC=10 revision asks for 8 instances at
the moment the requests are held, not ticks later; max-scale bounds it; the count is
held for a stable window after the last surge, then the KPA scales down as usual.
"""

from __future__ import annotations

import asyncio

from tests.autoscaler.fakes import FakeClock, InMemoryDataPlane, settle
from tests.gateway.fakes import FakeWaiter
from unkai.platform.autoscaler import Autoscaler, AutoscalerConfig, revision_spec
from unkai.platform.autoscaler.surge import queue_demand, scale_up_limit
from unkai.platform.contracts import RevisionKey
from unkai.platform.gateway import Endpoint, GatewayConfig, RevisionSettings
from unkai.platform.gateway.activator import RevisionThrottle

KEY = RevisionKey("default", "work-00001")
CONFIG = AutoscalerConfig(stable_window=6.0, scale_to_zero_grace_period=3.0)


def annotated(cc: int, **annotations: str):  # type: ignore[no-untyped-def]
    named = {f"autoscaling.knative.dev/{k}": v for k, v in annotations.items()}
    return revision_spec(named, container_concurrency=cc, config=CONFIG)


def test_a_queue_needs_in_flight_over_the_per_instance_target() -> None:
    assert queue_demand(annotated(10), in_flight=50) == 8  # target 7 = 10 x 70 %
    assert queue_demand(annotated(10, target="5"), in_flight=50) == 15  # 5 x 70 % = 3.5
    assert queue_demand(annotated(10, metric="rps"), in_flight=50) == 5  # by CC
    assert queue_demand(annotated(0, metric="rps"), in_flight=50) == 0  # nothing bounds
    assert queue_demand(annotated(10), in_flight=0) == 0
    assert queue_demand(annotated(10, **{"max-scale": "3"}), in_flight=50) == 3


def test_the_scale_up_rate_bounds_a_surge() -> None:
    slow = revision_spec({}, container_concurrency=10, config=AutoscalerConfig(max_scale_up_rate=2))
    assert scale_up_limit(slow, ready_pods=3) == 6
    assert scale_up_limit(slow, ready_pods=0) == 2
    assert scale_up_limit(annotated(10), ready_pods=1) == 1000  # Knative's default rate


class Platform:
    """The gateway's throttle for one revision, poking a real autoscaler on fake time."""

    def __init__(self, clock: FakeClock, cc: int, **annotations: str) -> None:
        self.clock = clock
        self.plane = InMemoryDataPlane(clock=clock)
        self.autoscaler = Autoscaler(config=CONFIG, clock=clock, sleep=clock.sleep)
        self.autoscaler.drive(scaler=self.plane, pods=self.plane)
        self.autoscaler.register(KEY, annotated(cc, **annotations))
        meter = self.autoscaler.meter(KEY)
        self.throttle = RevisionThrottle(
            KEY, _Loop(), clock, max_held=10_000, on_cold=self.autoscaler.poke, meter=meter
        )
        self.throttle.configure(RevisionSettings(container_concurrency=cc))

    def endpoints(self, count: int) -> None:
        endpoints = [Endpoint("127.0.0.1", 9000 + i, None) for i in range(count)]
        self.throttle.set_endpoints(endpoints, GatewayConfig())

    def arrive(self, count: int) -> None:
        for _ in range(count):
            self.throttle.stats.arrive(self.clock.now)
            self.throttle.admit(FakeWaiter())

    def depart(self, count: int) -> None:
        for _ in range(count):
            self.throttle.stats.depart(self.clock.now, self.clock.now, 200)


class _Loop:
    def call_later(self, delay: float, callback: object, *args: object) -> None:
        raise AssertionError("no first-byte deadline in these tests")


def test_a_step_to_50_requests_asks_for_8_instances_when_they_are_held() -> None:
    async def main() -> None:
        clock = FakeClock()
        unkai = Platform(clock, cc=10)
        runner = asyncio.create_task(unkai.autoscaler.run())
        await settle()
        unkai.endpoints(1)  # initial scale: one instance, ready
        unkai.arrive(1)
        await clock.advance(10.0)
        assert unkai.plane.scaled_to() == [1]

        clock.now += 0.3  # between ticks
        unkai.arrive(49)  # 10 on the instance, 40 held
        await settle()
        assert unkai.plane.calls[-1] == (KEY, 8, clock.now)
        status = unkai.autoscaler.status(KEY)
        assert status is not None
        assert (status.want, status.panicking) == (8, True)

        unkai.endpoints(8)  # the held requests move on: nothing more to ask for
        assert unkai.throttle.stats.held == 0
        await clock.advance(0.5)
        assert unkai.plane.scaled_to() == [1, 8]
        runner.cancel()

    asyncio.run(main())


def test_max_scale_bounds_the_surge() -> None:
    async def main() -> None:
        clock = FakeClock()
        unkai = Platform(clock, cc=10, **{"max-scale": "3"})
        runner = asyncio.create_task(unkai.autoscaler.run())
        await settle()
        unkai.endpoints(1)
        unkai.arrive(50)
        await settle()
        assert unkai.plane.scaled_to() == [1, 3]
        runner.cancel()

    asyncio.run(main())


def test_the_surge_holds_for_a_stable_window_then_the_kpa_scales_down() -> None:
    async def main() -> None:
        clock = FakeClock()
        unkai = Platform(clock, cc=10)
        await unkai.autoscaler.tick()
        unkai.endpoints(1)
        unkai.arrive(50)
        await unkai.autoscaler.tick()
        assert unkai.plane.scaled_to() == [1, 8]
        unkai.endpoints(8)
        await clock.advance(0.5)
        unkai.depart(45)  # 5 requests stay in flight: one instance's worth
        ticks = []
        while clock.now < 20:
            await clock.advance(CONFIG.tick_interval)
            await unkai.autoscaler.tick()
            ticks.append((clock.now, unkai.plane.ready(KEY)))
        # 8 until the stable window (6 s) has passed since the surge, then down by at
        # most half a tick (max-scale-down-rate 2) as the averages fall.
        held = [ready for now, ready in ticks if now <= 6.0]
        assert held == [8] * len(held)
        assert ticks[-1][1] == 1

    asyncio.run(main())
