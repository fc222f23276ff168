# ruff: noqa: ASYNC110, ASYNC240  (a by-hand benchmark script: it polls for counts with a sleep)
"""Delivery latency to a real function: the first event to a Service at zero, then warm.

Run: PYTHONPATH=. .venv/bin/python benchmarks/eventing_cold.py [--events 200] [--no-sandbox]

"At zero" means the revision says ``Active=False`` *and* the process runner has no
live instance of it (checked before each first event).

An embedded platform in-process with its real data plane (fork-server runner); the
subscriber is ``tests/eventing/functions/relay`` (a CloudEvents function) deployed as
a Service with scale-to-zero after 0.5 s, reached through the gateway and its
activator. Latency is read from ``unkai_trigger_delivery_latency_seconds`` (arrival at
the broker to the function's 2xx): its sum grows by exactly one delivery's latency when
events are sent one at a time, so each figure is exact, not a bucket estimate.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path
from typing import Any

import httpx2
import uvloop

from unkai.api import kinds
from unkai.platform import bundles
from unkai.platform.autoscaler import AutoscalerConfig
from unkai.platform.embedded import Platform, Settings

RELAY = Path(__file__).parent.parent / "tests" / "eventing" / "functions" / "relay"
QUICK = AutoscalerConfig(
    stable_window=2.0, scale_to_zero_grace_period=0.5, tick_interval=0.2, bucket_size=0.2
)


def sample(platform: Platform) -> tuple[float, float]:
    labels = {"namespace": "default", "trigger": "orders"}
    count = platform.registry.get_sample_value(
        "unkai_trigger_delivery_latency_seconds_count", labels
    )
    total = platform.registry.get_sample_value("unkai_trigger_delivery_latency_seconds_sum", labels)
    return count or 0.0, total or 0.0


def at_zero(platform: Platform) -> bool:
    """Whether the relay's revisions all say ``Active=False`` (scaled to zero) and the
    runner has no live instance of any of them (not even one still draining)."""
    assert platform.controllers is not None
    revisions = platform.controllers.cache.namespace(kinds.REVISION.group_resource, "default")
    inactive = bool(revisions) and all(
        any(c.get("type") == "Active" and c.get("status") == "False"
            for c in (revision.get("status") or {}).get("conditions", []))
        for revision in revisions.values()
    )  # fmt: skip
    return inactive and live_instances(platform) == 0


def live_instances(platform: Platform) -> int:
    """The process runner's own count of live instances (the data plane keeps the
    runner to itself: a by-hand benchmark may look)."""
    assert platform.data_plane is not None
    return len(platform.data_plane._process_runner.instances.of())


async def create(platform: Platform, kind: kinds.Kind, name: str, spec: dict[str, Any]) -> None:
    manifest = {"apiVersion": kind.api_version, "kind": kind.kind,
                "metadata": {"name": name, "namespace": "default"}, "spec": spec}  # fmt: skip
    rt = platform.api.service.registry.get(kind.group_resource)
    await platform.api.service.create(rt, manifest, namespace="default")


async def one(platform: Platform, client: httpx2.AsyncClient, url: str, number: int) -> float:
    count, total = sample(platform)
    headers = {"ce-specversion": "1.0", "ce-type": "com.example.order", "ce-source": "/b",
               "ce-id": f"o{number}", "content-type": "application/json"}  # fmt: skip
    response = await client.post(url, headers=headers, content=b'{"n": 1}')
    assert response.status_code == 202
    while sample(platform)[0] <= count:
        await asyncio.sleep(0.001)
    return (sample(platform)[1] - total) * 1000


async def main(events: int, sandbox: bool) -> None:
    settings = Settings(data_dir=Path(tempfile.mkdtemp()), api_port=0, gateway_port=0,
                        autoscaler=QUICK, isolate=sandbox)  # fmt: skip
    platform = Platform(settings)
    await platform.start()
    digest = platform.bundles.of("default").put(bundles.pack(RELAY))
    image = bundles.format_reference(namespace="default", name="relay", digest=digest)
    await create(platform, kinds.SERVICE, "relay",
                 {"template": {"spec": {"containers": [{"image": image}]}}})  # fmt: skip
    await create(platform, kinds.BROKER, "default", {})
    ref = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "relay"}
    orders = {"attributes": {"type": "com.example.order"}}  # not the function's replies
    await create(platform, kinds.TRIGGER, "orders",
                 {"broker": "default", "subscriber": {"ref": ref}, "filter": orders})  # fmt: skip
    while not platform.brokers.dispatchers:
        await asyncio.sleep(0.05)
    url = f"http://127.0.0.1:{platform.gateway.port}/default/default"
    async with httpx2.AsyncClient(timeout=60) as client:
        colds = []
        for number in range(5):
            while not at_zero(platform):
                await asyncio.sleep(0.05)
            assert live_instances(platform) == 0
            colds.append(await one(platform, client, url, number))
            while at_zero(platform):  # its status says it woke before it may say it slept
                await asyncio.sleep(0.05)
        warm = []
        for number in range(events):
            warm.append(await one(platform, client, url, 100 + number))
            await asyncio.sleep(0.01)
    warm.sort()
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"{'sandboxed' if sandbox else 'no sandbox'}, load {load}")
    print("first event to a function at zero (ms):", " ".join(f"{c:.1f}" for c in colds))
    print(
        f"warm, one event at a time: p50 {statistics.median(warm):.1f} ms, "
        f"p99 {warm[int(len(warm) * 0.99) - 1]:.1f} ms"
    )
    await platform.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument(
        "--no-sandbox", dest="sandbox", action="store_false",
        help="instances without the sandbox (where bwrap cannot bind the temporary data dir)",
    )  # fmt: skip
    args = parser.parse_args()
    uvloop.run(main(args.events, args.sandbox))
