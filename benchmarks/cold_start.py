"""Cold start: scale from zero to the first response, fork-server vs plain process spawn.

Run by hand: ``.venv/bin/python benchmarks/cold_start.py [-n 30]``.

For the hello ``http`` function (``benchmarks/functions/hello_http``, deployed as a
bundle), each round times one scale-from-zero: from asking the process runner for an
instance to the first 200 from a direct HTTP call to it (so the readiness probe is
inside the time, as it is for a request the activator holds), over the instance's
Unix socket where it has one (as the gateway does), else its loopback port. The
instance is then stopped, outside the time (that includes killing what is left in its
cgroup). The fork-server's zygote is started beforehand, as the data plane does when a
revision becomes active; a spawn has nothing to start before. Three ways run in the same
process, one after the other: forks in the sandbox with a cgroup each (the default where
the machine allows it), forks without (``isolate=False``), and spawns; p50/p95 in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from unkai.platform.bundles import BundleStore, pack
from unkai.platform.runners import Instance, InstanceSpec, LogFiles, Mode, ProcessRunner

HELLO = Path(__file__).parent / "functions" / "hello_http"


async def cold_starts(
    mode: Mode, spec: InstanceSpec, *, isolate: bool, root: Path, rounds: int
) -> list[float]:
    """Milliseconds from ``start`` to the first 200, ``rounds`` times."""
    logs = LogFiles(root / "logs" / f"{mode}-{isolate}")
    runner = ProcessRunner(logs=logs, mode=mode, environments=root, isolate=isolate)
    if isolate and runner.gaps:
        print(f"(not isolated here: {'; '.join(runner.gaps)})")
    await runner.prepare(spec)
    times = []
    try:
        for _ in range(rounds):
            began = time.perf_counter()
            instance = await runner.start(spec)
            status = await first_get(instance)
            elapsed = time.perf_counter() - began
            assert status == 200, status
            times.append(elapsed * 1000)
            await instance.stop()
    finally:
        await runner.close()
    return times


def percentile(times: list[float], fraction: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def first_get(instance: Instance) -> int:
    """The status of one plain ``GET /`` (a bare socket: an HTTP client's own setup,
    such as its TLS context, would be timed too)."""
    if instance.socket_path is None:
        reader, writer = await asyncio.open_connection("127.0.0.1", instance.port)
    else:
        reader, writer = await asyncio.open_unix_connection(str(instance.socket_path))
    writer.write(b"GET / HTTP/1.1\r\nHost: instance\r\nConnection: close\r\n\r\n")
    status = int((await reader.readline()).split()[1])
    writer.close()
    await writer.wait_closed()
    return status


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="unkai-cold-start-") as tmp:
        root = Path(tmp)
        store = BundleStore(root / "bundles")
        digest = store.put(pack(HELLO))
        spec = InstanceSpec(
            namespace="default",
            revision="hello-http-00001",
            configuration="hello-http",
            service="hello-http",
            bundle=store.path(digest),
            timeout_seconds=10,
        )
        print(f"scale from zero to the first 200, {args.rounds} rounds each (ms)")
        print("| mode | p50 | p95 | min | max |\n|---|---|---|---|---|")
        ways: list[tuple[str, Mode, bool]] = [
            ("fork, sandboxed", "fork", True),
            ("fork, isolate=False", "fork", False),
            ("spawn", "spawn", False),
        ]
        for name, mode, isolate in ways:
            times = await cold_starts(mode, spec, isolate=isolate, root=root, rounds=args.rounds)
            figures = [statistics.median(times), percentile(times, 0.95), min(times), max(times)]
            print(f"| {name} | " + " | ".join(f"{value:.1f}" for value in figures) + " |")


if __name__ == "__main__":
    asyncio.run(main())
