"""The autoscaler loop on fake time with an in-memory data plane.

Aspects: a new revision gets its initial scale at once; load scales it up; idleness
scales it to zero after the stable window and the grace period, not before; a poke
for a revision at zero decides at once, without waiting for the tick; registration
updates and removal; Prometheus gauges in a registry of the caller's.
"""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from tests.autoscaler.fakes import FakeClock, InMemoryDataPlane, settle
from unkai.platform.autoscaler import Activity, Autoscaler, AutoscalerConfig, revision_spec

KEY = ("default", "hello-00001")
# Short windows: stable 6 s (panic 1 s), grace 3 s; TBC 0 keeps the activator out of
# the path while instances serve, so the grace period is waited for in full.
CONFIG = AutoscalerConfig(
    stable_window=6.0, scale_to_zero_grace_period=3.0, target_burst_capacity=0
)


def make(clock: FakeClock, registry: CollectorRegistry | None = None, **annotations: str):
    plane = InMemoryDataPlane(clock=clock)
    autoscaler = Autoscaler(config=CONFIG, registry=registry, clock=clock, sleep=clock.sleep)
    autoscaler.drive(scaler=plane, pods=plane)
    named = {f"autoscaling.knative.dev/{k}": v for k, v in annotations.items()}
    autoscaler.register(KEY, revision_spec(named, container_concurrency=0, config=CONFIG))
    return autoscaler, plane


async def ticks(autoscaler: Autoscaler, clock: FakeClock, *, until: float) -> None:
    while clock.now < until:
        await clock.advance(CONFIG.tick_interval)
        await autoscaler.tick()


def test_initial_scale_up_with_load_and_down_to_zero() -> None:
    async def main() -> None:
        clock = FakeClock()
        autoscaler, plane = make(clock)
        await autoscaler.tick()
        assert plane.calls == [(KEY, 1, 0.0)]  # initial scale, before any data
        status = autoscaler.status(KEY)
        assert status is not None
        assert (status.want, status.activity) == (None, Activity.ACTIVATING)

        meter = autoscaler.meter(KEY)
        for _ in range(150):  # 150 requests in flight: ceil(150 / 70) = 3 pods
            meter.started(1.0)
        await ticks(autoscaler, clock, until=4.0)
        assert plane.scaled_to() == [1, 3]  # one pod saw 150: panic, 3 at once
        for _ in range(150):
            meter.finished(4.0)

        await ticks(autoscaler, clock, until=30.0)
        status = autoscaler.status(KEY)
        assert status is not None
        assert (status.want, status.activity, status.reason) == (0, Activity.INACTIVE, "NoTraffic")
        # The last load is in the bucket stamped 4 s, so the stable average is 0 from
        # 10 s, when the panic of 2 s ends too: down to 1 (at most halved), then to 0
        # wanted at 12 s. Active since 2 s, the revision has then been Active for a
        # stable window: it turns Inactive, and after the grace period (3 s) the tick
        # at 16 s scales it to zero.
        assert [(desired, at) for _, desired, at in plane.calls] == [
            (1, 0.0),
            (3, 2.0),
            (1, 10.0),
            (0, 16.0),
        ]

    asyncio.run(main())


def test_poke_decides_at_once_for_a_revision_at_zero() -> None:
    async def main() -> None:
        clock = FakeClock()
        autoscaler, plane = make(clock)
        runner = asyncio.create_task(autoscaler.run())
        await settle()
        await clock.advance(30.0)  # idle: zero after window and grace
        for _ in range(20):
            await clock.advance(CONFIG.tick_interval)
        assert plane.scaled_to() == [1, 0]
        assert plane.ready(KEY) == 0

        clock.now += 0.5  # between ticks
        autoscaler.meter(KEY).started(clock.now)
        autoscaler.poke(KEY)
        await settle()
        assert plane.calls[-1] == (KEY, 1, clock.now)
        status = autoscaler.status(KEY)
        assert status is not None
        assert status.want == 1

        autoscaler.poke(KEY)  # no longer wanted at zero: nothing happens
        await settle()
        assert plane.scaled_to() == [1, 0, 1]
        runner.cancel()

    asyncio.run(main())


def test_register_again_updates_and_unregister_forgets() -> None:
    async def main() -> None:
        clock = FakeClock()
        autoscaler, plane = make(clock)
        await autoscaler.tick()
        bigger = revision_spec(
            {"autoscaling.knative.dev/min-scale": "4"}, container_concurrency=0, config=CONFIG
        )
        autoscaler.register(KEY, bigger)
        await autoscaler.tick()
        assert plane.scaled_to() == [1, 4]
        autoscaler.unregister(KEY)
        await autoscaler.tick()
        assert autoscaler.status(KEY) is None
        assert plane.scaled_to() == [1, 4]

    asyncio.run(main())


def test_gauges_per_revision() -> None:
    async def main() -> None:
        clock = FakeClock()
        registry = CollectorRegistry()
        autoscaler, _ = make(clock, registry)
        autoscaler.meter(KEY).started(0.0)
        await ticks(autoscaler, clock, until=2.0)
        labels = {"namespace": KEY[0], "revision": KEY[1]}

        def sample(name: str) -> float | None:
            return registry.get_sample_value(f"unkai_autoscaler_{name}", labels)

        assert sample("desired_pods") == 1
        assert sample("stable_request_concurrency") == 1.0
        assert sample("panic_mode") == 0
        assert sample("excess_burst_capacity") == 0
        assert sample("target_value") == 70.0
        autoscaler.unregister(KEY)
        assert sample("desired_pods") is None

    asyncio.run(main())


def test_hpa_revision_is_scaled_with_a_note(caplog) -> None:
    async def main() -> None:
        clock = FakeClock()
        autoscaler, plane = make(clock, **{"class": "hpa.autoscaling.knative.dev"})
        await autoscaler.tick()
        status = autoscaler.status(KEY)
        assert status is not None
        assert status.notes
        assert plane.scaled_to() == [1]

    asyncio.run(main())
    assert "using KPA" in caplog.text


def test_a_resumed_revision_starts_at_zero_but_keeps_its_minimum() -> None:
    async def main() -> None:
        clock = FakeClock()
        plane = InMemoryDataPlane(clock=clock)
        autoscaler = Autoscaler(config=CONFIG, clock=clock, sleep=clock.sleep)
        autoscaler.drive(scaler=plane, pods=plane)
        unannotated = revision_spec({}, container_concurrency=0, config=CONFIG)
        autoscaler.register(KEY, unannotated, resumed=True)
        kept = ("default", "kept-00001")
        minimum = {"autoscaling.knative.dev/min-scale": "2"}
        autoscaler.register(
            kept, revision_spec(minimum, container_concurrency=0, config=CONFIG), resumed=True
        )
        await ticks(autoscaler, clock, until=3.0)
        # No initial scale for the resumed one; the minimum comes with the first decision.
        assert [(key, replicas) for key, replicas, _ in plane.calls] == [(kept, 2)]

    asyncio.run(main())
