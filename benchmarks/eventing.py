# ruff: noqa: ASYNC110, ASYNC220, ASYNC240  (a by-hand benchmark: polls, starts its sink, reads /proc)
"""Broker ingress throughput (group commit), what bounds it, and delivery latency.

Run: PYTHONPATH=. .venv/bin/python benchmarks/eventing.py [--producers 1 16] [--seconds 8]
     [--batch 100] [--no-delivery]

Prints, in order: the machine and its load; this disk's bare fsync and fdatasync
latency (p50, p90: what one sequential producer waits per event at least); disk bytes
per stored event; then, with an embedded platform in-process (no revisions) and one
broker, loaded by wrk (``ce_post.lua``, keep-alive, 1 and 16 connections):

* a Trigger whose filter matches nothing (each event is stored, fsynced, answered 202,
  then filtered and deleted: ingress and store alone), binary mode; then one
  connection sending batches of ``--batch`` events (batched mode);
* a Trigger that delivers every event to a subscriber in a process of its own
  (``eventing_sink.py``), binary mode;
* delivery latency: one producer in this process sends ``--rate`` events a second; the
  subscriber records its arrival time minus the ``ce-sent`` stamp;
* the last two again with the subscriber as a Service of the platform (the same process,
  routed by the gateway as ``sink.default.localhost``, its revision's endpoint set by
  hand since this platform runs no revisions): the delivery goes through the gateway
  (in-process where the platform does that, else over loopback to its port), where the
  first goes to a URI outside it (aiohttp's client). ``--to uri`` or ``--to service``
  runs one of the two.

For each load: events/s (a 202 means fsynced), commits and events per commit, the mean
synced commit (fsync included), the platform's CPU per event by thread, bytes written
to disk per event (``/proc/self/io``), and the load average, since the machine may be
shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import uvloop
from tests.controllers.readiness import InMemoryReadiness

from unkai.api import kinds
from unkai.events import codec
from unkai.platform.contracts import RevisionKey, RoutingTable
from unkai.platform.embedded import Platform, Settings
from unkai.platform.eventing.store import EventStore, StoredEvent
from unkai.platform.gateway import Endpoint

HERE = Path(__file__).parent
LUA = HERE / "ce_post.lua"
TICK = os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return "load " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def thread_cpu() -> dict[str, float]:
    """CPU seconds so far of each of this process's threads, by thread name."""
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    seconds: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        name = names.get(int(task.name), "other")
        seconds[name] = seconds.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / TICK
    return seconds


def process_cpu(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def written() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def fsync_latency(directory: Path, count: int = 300) -> None:
    """The bare cost of making 4 KiB durable on this disk, as a commit does."""
    path = directory / "probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for call in (os.fsync, os.fdatasync):
            times = []
            for _ in range(count):
                os.write(fd, b"x" * 4096)
                began = time.perf_counter()
                call(fd)
                times.append(time.perf_counter() - began)
            times.sort()
            p50, p90 = times[count // 2] * 1000, times[count * 9 // 10] * 1000
            print(f"bare {call.__name__} of 4 KiB: p50 {p50:.2f} ms, p90 {p90:.2f} ms "
                  f"(one sequential producer: at most {1000 / p50:,.0f} events/s) "
                  f"[{load_average()}]")  # fmt: skip
    finally:
        os.close(fd)
        path.unlink()


async def bytes_per_event(count: int = 10_000) -> None:
    """Disk bytes per stored event (with one trigger owing it), WAL checkpointed: the
    ce_post.lua event as ingress stores it (arrival time and TTL added)."""
    import sqlite3

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


async def create(platform: Platform, kind: kinds.Kind, name: str, spec: dict[str, Any]) -> None:
    manifest = {"apiVersion": kind.api_version, "kind": kind.kind,
                "metadata": {"name": name, "namespace": "default"}, "spec": spec}  # fmt: skip
    rt = platform.api.service.registry.get(kind.group_resource)
    await platform.api.service.create(rt, manifest, namespace="default")


async def until(check: Any) -> None:
    while not check():
        await asyncio.sleep(0.05)


def commit_seconds(platform: Platform) -> tuple[float, float]:
    sample = platform.registry.get_sample_value
    count = sample("unkai_event_store_commit_seconds_count") or 0.0
    return count, sample("unkai_event_store_commit_seconds_sum") or 0.0


async def load(
    platform: Platform,
    url: str,
    connections: int,
    seconds: int,
    what: str,
    *,
    batch: int = 0,
    sink: int | None = None,
) -> None:
    store = platform.brokers.store
    commits, synced, cpu, disk = store.commits, commit_seconds(platform), thread_cpu(), written()
    sink_cpu = process_cpu(sink) if sink else 0.0
    wrk = await asyncio.create_subprocess_exec(
        "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(LUA), url,
        *(["--", str(batch)] if batch else []), stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await wrk.communicate()
    lines = out.decode().splitlines()
    rate = float(next(line for line in lines if "Requests/sec" in line).split()[-1])
    rate *= max(batch, 1)
    refused = " ".join(line.strip() for line in lines if "Non-2xx" in line)
    events = rate * seconds
    done = store.commits - commits
    count, total = (b - a for a, b in zip(synced, commit_seconds(platform), strict=True))
    mean = total / count * 1000 if count else 0.0
    spent = {name: used - cpu.get(name, 0.0) for name, used in thread_cpu().items()}
    per_thread = ", ".join(
        f"{name} {used / events * 1e6:.0f}"
        for name, used in sorted(spent.items(), key=lambda item: -item[1])
        if used / events * 1e6 >= 1
    )
    extra = ""
    if sink:
        extra = f"; subscriber process {(process_cpu(sink) - sink_cpu) / events * 1e6:.0f}"
    mode = f"batches of {batch}" if batch else "binary"
    print(f"{what}, {mode}, wrk c={connections}: {rate:,.0f} events/s accepted; {done} commits "
          f"({events / max(done, 1):.1f} events per commit, synced commit {mean:.2f} ms mean); "
          f"CPU µs/event: total {sum(spent.values()) / events * 1e6:.0f} ({per_thread}){extra}; "
          f"{(written() - disk) / events:.0f} disk bytes written/event [{load_average()}] "
          f"{refused}")  # fmt: skip
    await until(lambda: not any(platform.brokers.depths().values()))


async def latency(url: str, sink_url: str, rate: int, seconds: int, what: str) -> None:
    async with httpx2.AsyncClient(timeout=30) as client:
        await client.get(sink_url)  # forget what the loads recorded
        for number in range(rate * seconds):
            began = time.monotonic()
            headers = {"ce-specversion": "1.0", "ce-type": "bench", "ce-source": "/b",
                       "ce-id": str(number), "ce-sent": repr(time.time()),
                       "content-type": "application/json"}  # fmt: skip
            response = await client.post(url, headers=headers, content=b'{"n":1}')
            assert response.status_code == 202, response.text
            await asyncio.sleep(max(0.0, 1 / rate - (time.monotonic() - began)))
        arrived: list[float] = []
        deadline = time.monotonic() + 30
        while len(arrived) < rate * seconds and time.monotonic() < deadline:
            arrived += json.loads((await client.get(sink_url)).content)
            await asyncio.sleep(0.05)
    ordered = sorted(arrived)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    print(f"latency ({what}), {rate}/s offered by one producer: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
          f"({len(ordered)} events) [{load_average()}]")  # fmt: skip


def route_to_sink(platform: Platform, port: int) -> str:
    """Serve the sink as ``sink.default.localhost``: a route and an endpoint, programmed
    as the controllers and the data plane would; the subscriber URI to use."""
    revision = RevisionKey("default", "sink-00001")
    host = f"sink.default.{platform.settings.domain}"
    platform.gateway.set_route("default", RoutingTable(host, ((revision.name, 100),), {}))
    platform.gateway.set_endpoints(revision, [Endpoint("127.0.0.1", port)])
    return f"http://{host}:{platform.gateway.port}/"


async def main(
    producers: list[int], seconds: int, rate: int, batch: int, deliver: bool, to: list[str]
) -> None:
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, {load_average()}")
    data_dir = Path(tempfile.mkdtemp())
    fsync_latency(data_dir)
    await bytes_per_event()
    sink = subprocess.Popen(
        [sys.executable, str(HERE / "eventing_sink.py")], stdout=subprocess.PIPE, text=True
    )
    assert sink.stdout is not None
    sink_port = int(sink.stdout.readline().strip())
    sink_url = f"http://127.0.0.1:{sink_port}/"
    platform = Platform(
        Settings(data_dir=data_dir, api_port=0, gateway_port=0), readiness=InMemoryReadiness()
    )
    await platform.start()
    try:
        url = f"http://127.0.0.1:{platform.gateway.port}/default/default"
        brokers = platform.brokers
        await create(platform, kinds.BROKER, "default", {})
        never = {"filter": {"attributes": {"type": "never"}}}
        await create(platform, kinds.TRIGGER, "sieve",
                     {"broker": "default", "subscriber": {"uri": sink_url}, **never})  # fmt: skip
        await until(lambda: brokers.ready and brokers.dispatchers)
        for connections in producers:
            await load(platform, url, connections, seconds, "stored then filtered out")
        if batch:
            await load(platform, url, 1, seconds, "stored then filtered out", batch=batch)
        if not deliver:
            return
        subscribers = {"uri": sink_url, "service": route_to_sink(platform, sink_port)}
        for kind in to:
            what = f"stored and delivered to a {kind}"
            subscriber = {"uri": subscribers[kind]}
            spec = {"broker": "default", "subscriber": subscriber}
            await create(platform, kinds.TRIGGER, f"to-{kind}", spec)
            await until(lambda: len(brokers.dispatchers) == 2)
            for connections in producers:
                await load(platform, url, connections, seconds, what, sink=sink.pid)
            await latency(url, sink_url, rate, seconds, what)
            rt = platform.api.service.registry.get(kinds.TRIGGER.group_resource)
            await platform.api.service.delete(rt, name=f"to-{kind}", namespace="default")
            await until(lambda: len(brokers.dispatchers) == 1)
    finally:
        await platform.stop()
        sink.terminate()
        sink.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--producers", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--batch", type=int, default=100, help="events per batch; 0: none")
    parser.add_argument(
        "--no-delivery", dest="deliver", action="store_false",
        help="ingress and store alone (e.g. --producers 1 16 1 16 --batch 0: rounds)",
    )  # fmt: skip
    parser.add_argument(
        "--to", nargs="+", choices=["uri", "service"], default=["uri", "service"],
        help="where the delivering trigger sends: a URI outside, a Service of the platform",
    )  # fmt: skip
    args = parser.parse_args()
    uvloop.run(main(args.producers, args.seconds, args.rate, args.batch, args.deliver, args.to))
