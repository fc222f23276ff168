"""Autoscaling step: 1 → 50 concurrent clients on a CC=10 function doing 50 ms of work.

Run by hand: ``.venv/bin/python benchmarks/autoscaling.py``. Starts `unkai up` with
Knative's default autoscaler settings, deploys the function, holds 1 client for 10 s,
then 50 clients for 30 s, and reports when the desired instances were all ready
(from the platform's own Prometheus metrics) and how many requests failed.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx2
from platform_client import platform

HERE = Path(__file__).parent
HOST = "work.default.localhost"


async def clients(
    port: int, count: int, seconds: float, errors: list[str], done: list[int]
) -> None:
    limits = httpx2.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits,
                                  timeout=60) as http:  # fmt: skip
        end = time.monotonic() + seconds

        async def loop() -> None:
            while time.monotonic() < end:
                try:
                    response = await http.get("/", headers={"Host": HOST})
                    if response.status_code != 200:
                        errors.append(str(response.status_code))
                    else:
                        done[0] += 1
                except httpx2.HTTPError as error:
                    errors.append(repr(error))

        await asyncio.gather(*(loop() for _ in range(count)))


def main() -> None:
    with platform() as unkai:
        unkai.deploy("work", HERE / "functions" / "work50", concurrency=10)
        unkai.wait_ready("work")
        labels = {"namespace": "default", "revision": "work-00001"}
        errors: list[str] = []
        done = [0]
        asyncio.run(clients(unkai.gateway_port, 1, 10, errors, done))
        step = time.monotonic()
        timeline = []

        async def watch() -> None:
            while time.monotonic() - step < 30:
                desired = unkai.metric("unkai_autoscaler_desired_pods", **labels)
                ready = unkai.metric("unkai_autoscaler_ready_pods", **labels)
                timeline.append((time.monotonic() - step, desired, ready))
                await asyncio.sleep(0.25)

        async def both() -> None:
            await asyncio.gather(
                clients(unkai.gateway_port, 50, 30, errors, done),
                asyncio.to_thread(lambda: asyncio.run(watch())),
            )

        asyncio.run(both())
    peak = max(desired for _, desired, _ in timeline)
    settled = next((t for t, desired, ready in timeline if ready >= peak and desired == peak), None)
    print("step 1 → 50 clients, CC=10, 50 ms per request, Knative default autoscaler settings\n")
    print("| measure | value |")
    print("|---|---:|")
    print(f"| desired instances (peak) | {peak:.0f} |")
    print(f"| seconds from the step until that many were ready | {settled:.1f} |")
    print(f"| requests served in the 40 s | {done[0]} |")
    print(f"| failed requests | {len(errors)} |")
    first = next((t for t, desired, _ in timeline if desired > 1), None)
    print(f"| seconds until the autoscaler first asked for more | {first:.2f} |")


if __name__ == "__main__":
    main()
