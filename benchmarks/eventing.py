# ruff: noqa: ASYNC110, RUF006  (a by-hand benchmark script: polling waits, one-off server task)
"""Broker ingress throughput (group commit) and end-to-end delivery latency.

Run: .venv/bin/python benchmarks/eventing.py [--producers 1 16] [--events 4000]
Starts an embedded platform in-process (no revisions), a broker, a trigger whose
subscriber is a small uvicorn app in this process, and producers that POST binary
CloudEvents over keep-alive connections (httpx2). Prints events/s accepted (202 means
fsynced), store commits (events per fsync), and arrival-to-subscriber latency p50/p99
at a steady rate.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx2
import uvicorn
from tests.controllers.readiness import InMemoryReadiness

from unkai.api import kinds
from unkai.platform.embedded import Platform, Settings

ARRIVED: list[float] = []


async def sink(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    headers = dict(scope["headers"])
    sent = float(headers.get(b"ce-sent", b"0"))
    ARRIVED.append(time.time() - sent)
    await send({"type": "http.response.start", "status": 202, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def main(producers: list[int], events: int, rate: int) -> None:
    data = Path(tempfile.mkdtemp())
    platform = Platform(
        Settings(data_dir=data, api_port=0, gateway_port=0), readiness=InMemoryReadiness()
    )
    await platform.start()
    server = uvicorn.Server(uvicorn.Config(sink, port=0, log_level="error", lifespan="off"))
    asyncio.ensure_future(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    rt = platform.api.service.registry
    await platform.api.service.create(
        rt.get(kinds.BROKER.group_resource),
        {
            "apiVersion": "eventing.knative.dev/v1",
            "kind": "Broker",
            "metadata": {"name": "default", "namespace": "default"},
            "spec": {},
        },
        namespace="default",
    )
    await platform.api.service.create(
        rt.get(kinds.TRIGGER.group_resource),
        {
            "apiVersion": "eventing.knative.dev/v1",
            "kind": "Trigger",
            "metadata": {"name": "t", "namespace": "default"},
            "spec": {"broker": "default", "subscriber": {"uri": f"http://127.0.0.1:{port}/"}},
        },
        namespace="default",
    )
    from unkai.platform.contracts import NamespacedName

    while (
        NamespacedName("default", "default") not in platform.brokers.ready
        or not platform.brokers.dispatchers
    ):
        await asyncio.sleep(0.05)
    url = f"http://127.0.0.1:{platform.gateway.port}/default/default"

    async def produce(client: httpx2.AsyncClient, count: int, pace: float = 0.0) -> None:
        for number in range(count):
            headers = {
                "ce-specversion": "1.0",
                "ce-type": "bench",
                "ce-source": "/b",
                "ce-id": str(number),
                "ce-sent": repr(time.time()),
                "content-type": "application/json",
            }
            response = await client.post(url, headers=headers, content=b'{"n":1}')
            assert response.status_code == 202, response.text
            if pace:
                await asyncio.sleep(pace)

    for n in producers:
        ARRIVED.clear()
        commits = platform.brokers.store.commits
        clients = [httpx2.AsyncClient(timeout=30) for _ in range(n)]
        began = time.perf_counter()
        await asyncio.gather(*(produce(c, events // n) for c in clients))
        took = time.perf_counter() - began
        done = platform.brokers.store.commits - commits
        print(
            f"producers={n}: {events / took:.0f} events/s accepted; "
            f"{done} commits while accepting and deleting ({events / max(done, 1):.1f} ops/commit)"
        )
        for c in clients:
            await c.aclose()
        while len(ARRIVED) < events:
            await asyncio.sleep(0.05)

    ARRIVED.clear()
    async with httpx2.AsyncClient(timeout=30) as client:
        await produce(client, rate * 5, pace=1 / rate)
    while len(ARRIVED) < rate * 5:
        await asyncio.sleep(0.05)
    ordered = sorted(ARRIVED)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    print(f"latency at ~{rate}/s offered (one producer, paced): p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    server.should_exit = True
    await platform.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--producers", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--rate", type=int, default=200)
    args = parser.parse_args()
    import uvloop

    uvloop.run(main(args.producers, args.events, args.rate))
