"""Control plane at 1,000 services: create, list and watch latency.

Run by hand: ``.venv/bin/python benchmarks/control_plane.py [--services 1000]``.
Runs the platform's control plane (API server, store, controllers) in this process,
with no data plane: the services' images are never run, so what is measured is the
API and the controllers alone. Clients talk to it over HTTPS with its token like any
client; prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx2
import psutil
from platform_client import connection

from unkai.platform.embedded import Platform, Settings

SERVICES = "/apis/serving.knative.dev/v1/namespaces/default/services"


def service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"template": {"spec": {"containers": [{"image": "example.com/hello:1"}]}}},
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def create_all(client: httpx2.AsyncClient, count: int, parallel: int) -> float:
    names = iter(range(count))
    started = time.perf_counter()

    async def worker() -> None:
        for number in names:
            response = await client.post(SERVICES, json=service(f"svc-{number:04d}"))
            response.raise_for_status()

    await asyncio.gather(*(worker() for _ in range(parallel)))
    return time.perf_counter() - started


async def wait_revisions(client: httpx2.AsyncClient, count: int) -> float:
    started = time.perf_counter()
    while True:
        listed = (await client.get(SERVICES)).json()["items"]
        done = sum(1 for item in listed if item.get("status", {}).get("latestCreatedRevisionName"))
        if done >= count:
            return time.perf_counter() - started
        await asyncio.sleep(0.2)


async def list_latency(client: httpx2.AsyncClient, rounds: int) -> list[float]:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = await client.get(SERVICES)
        response.raise_for_status()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def watch_latency(client: httpx2.AsyncClient, rounds: int) -> list[float]:
    """Time from sending a create to its event arriving on an open watch."""
    version = (await client.get(SERVICES)).json()["metadata"]["resourceVersion"]
    timings: list[float] = []
    seen: asyncio.Queue[tuple[str, float]] = asyncio.Queue()

    async def follow() -> None:
        params = {"watch": "1", "resourceVersion": version}
        async with client.stream("GET", SERVICES, params=params, timeout=None) as stream:
            async for line in stream.aiter_lines():
                event = json.loads(line)
                seen.put_nowait((event["object"]["metadata"]["name"], time.perf_counter()))

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.5)
    for number in range(rounds):
        name = f"watched-{number:03d}"
        sent = time.perf_counter()
        response = await client.post(SERVICES, json=service(name))
        response.raise_for_status()
        while True:
            got, arrived = await seen.get()
            if got == name:
                timings.append((arrived - sent) * 1000)
                break
    task.cancel()
    return timings


async def measure(data_dir: Path, count: int) -> None:
    async with httpx2.AsyncClient(**connection(data_dir)) as client:
        create_seconds = await create_all(client, count, parallel=8)
        settle_seconds = await wait_revisions(client, count)
        lists = await list_latency(client, 20)
        watches = await watch_latency(client, 100)
    rss_mib = psutil.Process().memory_info().rss / 2**20
    print(f"{count} services, 8 parallel creators, control plane only, same process\n")
    print("| measure | value |")
    print("|---|---:|")
    print(f"| create {count} services | {create_seconds:.1f} s ({count / create_seconds:.0f}/s) |")
    print(f"| … until every one has its revision | {settle_seconds:.1f} s more |")
    print(
        f"| list {count} services, p50 / p95 | {statistics.median(lists):.0f} / "
        f"{percentile(lists, 0.95):.0f} ms |"
    )
    print(
        f"| create sent → its watch event, p50 / p95 | {statistics.median(watches):.1f} / "
        f"{percentile(watches, 0.95):.1f} ms |"
    )
    print(f"| process RSS after (control plane + this client) | {rss_mib:.0f} MiB |")


class NothingRuns:
    """Revision health for a control plane without instances: nothing to say."""

    def health(self, *, namespace: str, name: str) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(data_dir=Path(home), api_port=0, gateway_port=0)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        platform = Platform(settings, readiness=NothingRuns())
        asyncio.run_coroutine_threadsafe(platform.start(), loop).result(60)
        try:
            asyncio.run(measure(Path(home), args.services))
        finally:
            asyncio.run_coroutine_threadsafe(platform.stop(), loop).result(60)
            loop.call_soon_threadsafe(loop.stop)


if __name__ == "__main__":
    main()
