# ruff: noqa: ASYNC110, ASYNC240  (a by-hand benchmark script: it polls with a sleep, sizes files)
"""Broker ingress throughput (group commit) and end-to-end delivery latency.

Run: PYTHONPATH=. .venv/bin/python benchmarks/eventing.py [--producers 1 16] [--seconds 10]

An embedded platform in-process (no revisions) with one broker. Ingress is loaded by
wrk (``ce_post.lua``: the same binary CloudEvent over keep-alive, 1 and 16
connections), first with a Trigger whose filter matches nothing (each event is stored,
fsynced, then filtered and deleted: ingress and store alone), then with a Trigger that
delivers to a uvicorn app in this process (ingress while delivering). Latency: one
producer in this process sends at a steady rate; the subscriber records arrival time
minus the ``ce-sent`` stamp. Prints events/s (202 means fsynced) and events per commit.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2
import uvicorn
import uvloop
from tests.controllers.readiness import InMemoryReadiness

from unkai.api import kinds
from unkai.events import codec
from unkai.platform.embedded import Platform, Settings
from unkai.platform.eventing.store import EventStore, StoredEvent

ARRIVED: list[float] = []
LUA = Path(__file__).parent / "ce_post.lua"


async def sink(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    sent = dict(scope["headers"]).get(b"ce-sent")
    if sent:
        ARRIVED.append(time.time() - float(sent))
    await send({"type": "http.response.start", "status": 202, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def create(platform: Platform, kind: kinds.Kind, name: str, spec: dict[str, Any]) -> None:
    manifest = {"apiVersion": kind.api_version, "kind": kind.kind,
                "metadata": {"name": name, "namespace": "default"}, "spec": spec}  # fmt: skip
    rt = platform.api.service.registry.get(kind.group_resource)
    await platform.api.service.create(rt, manifest, namespace="default")


async def until(check: Any) -> None:
    while not check():
        await asyncio.sleep(0.05)


async def load(platform: Platform, url: str, connections: int, seconds: int, what: str) -> None:
    commits = platform.brokers.store.commits
    wrk = await asyncio.create_subprocess_exec(
        "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(LUA), url,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await wrk.communicate()
    lines = out.decode().splitlines()
    rate = float(next(line for line in lines if "Requests/sec" in line).split()[-1])
    refused = [line.strip() for line in lines if "Non-2xx" in line]
    done = platform.brokers.store.commits - commits
    per_commit = rate * seconds / max(done, 1)
    print(f"{what}, wrk c={connections}: {rate:.0f} events/s accepted; {done} commits "
          f"({per_commit:.1f} events per commit) {' '.join(refused)}")  # fmt: skip
    await until(lambda: not any(platform.brokers.depths().values()))


async def bytes_per_event(count: int = 10_000) -> None:
    """Disk bytes per stored event (with one trigger owing it), WAL checkpointed: the
    ce_post.lua event as ingress stores it (arrival time and TTL added)."""
    directory = Path(tempfile.mkdtemp())
    store = EventStore(directory / "events.db")
    store.open()
    attributes: dict[str, codec.Value] = {
                  "specversion": "1.0", "id": "bench-1", "type": "dev.unkai.bench",
                  "source": "/bench", "datacontenttype": "application/json",
                  "knativearrivaltime": "2026-12-05T09:00:00.000000Z",
                  "knativebrokerttl": 255}  # fmt: skip
    body = codec.to_json(codec.Event(attributes, b'{"n": 1}'))
    events = [StoredEvent(n, "default/default", 0.0, body) for n in range(1, count + 1)]
    await store.append(events, ["default/t"])
    await store.close()
    with sqlite3.connect(directory / "events.db") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = sum(path.stat().st_size for path in directory.iterdir())
    print(f"stored: {size / count:.0f} disk bytes per event ({len(body)} bytes of event JSON)")


async def main(producers: list[int], seconds: int, rate: int) -> None:
    await bytes_per_event()
    platform = Platform(
        Settings(data_dir=Path(tempfile.mkdtemp()), api_port=0, gateway_port=0),
        readiness=InMemoryReadiness(),
    )
    await platform.start()
    server = uvicorn.Server(uvicorn.Config(sink, port=0, log_level="error", lifespan="off"))
    serving = asyncio.ensure_future(server.serve())
    await until(lambda: server.started)
    subscriber = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/"
    url = f"http://127.0.0.1:{platform.gateway.port}/default/default"
    brokers = platform.brokers

    await create(platform, kinds.BROKER, "default", {})
    never = {"filter": {"attributes": {"type": "never"}}}
    await create(platform, kinds.TRIGGER, "sieve",
                 {"broker": "default", "subscriber": {"uri": subscriber}, **never})  # fmt: skip
    await until(lambda: brokers.ready and brokers.dispatchers)
    for connections in producers:
        await load(platform, url, connections, seconds, "stored then filtered out")

    await create(platform, kinds.TRIGGER, "deliver",
                 {"broker": "default", "subscriber": {"uri": subscriber}})  # fmt: skip
    await until(lambda: len(brokers.dispatchers) == 2)
    for connections in producers:
        await load(platform, url, connections, seconds, "stored and delivered")

    ARRIVED.clear()
    async with httpx2.AsyncClient(timeout=30) as client:
        for number in range(rate * seconds):
            began = time.monotonic()
            headers = {"ce-specversion": "1.0", "ce-type": "bench", "ce-source": "/b",
                       "ce-id": str(number), "ce-sent": repr(time.time()),
                       "content-type": "application/json"}  # fmt: skip
            response = await client.post(url, headers=headers, content=b'{"n":1}')
            assert response.status_code == 202, response.text
            await asyncio.sleep(max(0.0, 1 / rate - (time.monotonic() - began)))
    await until(lambda: len(ARRIVED) >= rate * seconds)
    ordered = sorted(ARRIVED)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    print(f"latency, {rate}/s offered by one producer: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    server.should_exit = True
    await serving
    await platform.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--producers", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate", type=int, default=500)
    args = parser.parse_args()
    uvloop.run(main(args.producers, args.seconds, args.rate))
