"""Hostile clients against a real `unkai up` while a user keeps calling it (issue 13, item 2).

Run by hand: ``.venv/bin/python benchmarks/hostile_clients.py [--seconds 30]``.

Starts `unkai up --detach` on loopback, deploys the hello function, then runs two
attacks on the gateway port, one after the other, each for ``--seconds``:

* **slowloris**: 20,000 connections (two attacker processes of 10,000: one process's
  file limit is 20,000 here) that send the start of a request head and then nothing,
  each reopened as soon as the gateway closes it;
* **big heads**: 2,000 connections that each send 1,000,000 bytes of one unfinished
  header (just under the 1 MiB a head may have), reopened as soon as they are closed.

Meanwhile one client calls the function through the gateway and another lists
services on the API (HTTPS, token), one call at a time each, every call on a new
connection (as ``curl`` and ``kubectl`` make them: a client holding a keep-alive
connection from before the attack would need no new file descriptor), with a 10 s
limit per call.
Printed: calls that succeeded and failed (with why), their p50/p99, the platform's
RSS (before, highest during, after), and what the gateway refused, by reason, from
its own metrics. Loopback only; everything stops when the script ends.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import psutil
from platform_client import Running, connection, platform

HERE = Path(__file__).parent
HOST = "hello.default.localhost"
SLOW_HEAD = f"GET / HTTP/1.1\r\nHost: {HOST}\r\nX-Wait: ".encode()
BIG_HEAD = 1_000_000


@dataclass
class Calls:
    """What the legitimate clients saw."""

    ok: list[float] = field(default_factory=list)  # seconds per successful call
    failed: Counter[str] = field(default_factory=Counter)

    def row(self, name: str) -> str:
        if self.ok:
            ordered = sorted(self.ok)
            p50 = statistics.median(ordered) * 1000
            p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000
        else:
            p50 = p99 = float("nan")
        failed = ", ".join(f"{why} ×{n}" for why, n in self.failed.most_common()) or "none"
        return f"| {name} | {len(self.ok):,} | {p50:.1f} | {p99:.1f} | {failed} |"


# -- attackers (in processes of their own) -------------------------------------------------


def attack(kind: str, port: int, connections: int, seconds: float) -> None:
    """Keep ``connections`` hostile connections open to ``port`` for ``seconds``."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(_attack(kind, port, connections, seconds))


async def _attack(kind: str, port: int, connections: int, seconds: float) -> None:
    end = time.monotonic() + seconds
    opening = asyncio.Semaphore(256)  # connects in flight at once

    async def one() -> None:
        while time.monotonic() < end:
            try:
                async with opening:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(SLOW_HEAD)
                if kind == "big":
                    pad = b"a" * 65536
                    for _ in range(BIG_HEAD // len(pad)):
                        writer.write(pad)
                        await writer.drain()
                # hold it until the gateway closes it (or the attack ends)
                await asyncio.wait_for(reader.read(65536), max(0.01, end - time.monotonic()))
                writer.close()
            except (OSError, TimeoutError):
                await asyncio.sleep(0.05)

    await asyncio.gather(*(one() for _ in range(connections)))


# -- the legitimate user ---------------------------------------------------------------


FRESH = httpx2.Limits(max_keepalive_connections=0)  # a new connection for every call


async def call_function(port: int, end: float, calls: Calls) -> None:
    base = f"http://127.0.0.1:{port}"
    async with httpx2.AsyncClient(base_url=base, timeout=10, limits=FRESH) as http:
        while time.monotonic() < end:
            began = time.monotonic()
            try:
                response = await http.get("/", headers={"Host": HOST})
                if response.status_code == 200:
                    calls.ok.append(time.monotonic() - began)
                else:
                    calls.failed[str(response.status_code)] += 1
            except httpx2.HTTPError as error:
                calls.failed[type(error).__name__] += 1
            await asyncio.sleep(0.01)


SERVICES = "/apis/serving.knative.dev/v1/namespaces/default/services"


async def call_api(data_dir: Path, end: float, calls: Calls) -> None:
    options = connection(data_dir)
    options["timeout"] = 10
    options["limits"] = FRESH
    async with httpx2.AsyncClient(**options) as http:
        while time.monotonic() < end:
            began = time.monotonic()
            try:
                response = await http.get(SERVICES)
                if response.status_code == 200:
                    calls.ok.append(time.monotonic() - began)
                else:
                    calls.failed[str(response.status_code)] += 1
            except httpx2.HTTPError as error:
                calls.failed[type(error).__name__] += 1
            await asyncio.sleep(0.01)


async def peaks(pid: int, end: float) -> tuple[float, int]:
    """The platform's highest RSS (MiB) and number of open file descriptors."""
    process, rss, fds = psutil.Process(pid), 0.0, 0
    while time.monotonic() < end:
        rss = max(rss, process.memory_info().rss / 2**20)
        fds = max(fds, process.num_fds())
        await asyncio.sleep(0.2)
    return rss, fds


def phase(unkai: Running, kind: str, processes: int, each: int, seconds: float) -> None:
    before = unkai.rss_mib(with_children=False)
    context = multiprocessing.get_context("spawn")
    attackers = [
        context.Process(target=attack, args=(kind, unkai.gateway_port, each, seconds))
        for _ in range(processes)
    ]
    for process in attackers:
        process.start()
    function, api = Calls(), Calls()

    async def run() -> tuple[float, int]:
        end = time.monotonic() + seconds
        highest, *_ = await asyncio.gather(
            peaks(unkai.pid, end),
            call_function(unkai.gateway_port, end, function),
            call_api(unkai.data_dir, end, api),
        )
        return highest  # type: ignore[no-any-return]

    highest, fds = asyncio.run(run())
    for process in attackers:
        process.join(seconds + 30)
        if process.is_alive():
            process.kill()
    after = unkai.rss_mib(with_children=False)
    print(f"\n### {kind}: {processes} × {each:,} connections for {seconds:.0f} s\n")
    print("| calls | succeeded | p50 ms | p99 ms | failed |")
    print("|---|---:|---:|---:|---|")
    print(function.row("function, through the gateway"))
    print(api.row("API, list services"))
    print(f"\nplatform RSS: {before:.0f} MiB before, {highest:.0f} MiB at most, {after:.0f} after")
    print(f"platform file descriptors: {fds:,} at most")


def refusals(unkai: Running) -> None:
    print("\n| gateway metric | value |\n|---|---:|")
    for line in unkai.api.get("/metrics").text.splitlines():
        if line.startswith(("unkai_gateway_connections", "unkai_gateway_unfinished")):
            print(f"| `{line.rsplit(' ', 1)[0]}` | {float(line.rsplit(' ', 1)[1]):,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--only", choices=["slowloris", "big"], help="run one attack")
    args = parser.parse_args()
    with platform() as unkai:
        unkai.deploy("hello", HERE / "functions" / "hello_http")
        unkai.wait_ready("hello")
        if args.only in (None, "slowloris"):
            phase(unkai, "slowloris", 2, 10_000, args.seconds)
        if args.only in (None, "big"):
            phase(unkai, "big", 2, 1_000, args.seconds)
        refusals(unkai)


if __name__ == "__main__":
    main()
