"""Zygotes forked from a base zygote against zygotes started on their own: memory and
the cold start of a revision without a zygote.

Run: ``.venv/bin/python benchmarks/base_zygote.py [-n 20] [--starts 20]``. For each way
(``shared_base`` on and off) and each of sandboxed (where the machine allows) and not,
a process runner prepares ``n`` revisions of the hello function (their zygotes, no
instance) and the script reports the PSS of everything under it (``procmem``) and the
PSS each further zygote adds; then it times ``starts`` first instances of new
revisions, from ``runner.start()`` to its first 200 through the instance's Unix socket:
the zygote's start (a fork of the base that imports the function, or a new interpreter)
plus the instance's fork. The CPU time the runner's processes used per start (and per
retirement of its zygote) is printed too: less sensitive to the machine's load than the
wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import httpx2
import procmem

from unkai.platform.bundles import BundleStore, pack
from unkai.platform.runners import InstanceSpec, LogFiles, ProcessRunner

HELLO = Path(__file__).parent / "functions" / "hello_http"


def children_cpu() -> float:
    """Seconds of CPU used by every process this one started, gone or alive: those it
    reaped, and each live one's own and its reaped children's (a base's zygotes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    for pid in procmem.family(os.getpid())[1:]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(tick) for tick in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


async def measure(*, shared: bool, isolate: bool, n: int, starts: int) -> str:
    with tempfile.TemporaryDirectory() as home:
        root = Path(home)
        store = BundleStore(root / "bundles")
        digest = store.put(pack(HELLO))

        def spec(name: str) -> InstanceSpec:
            return InstanceSpec(
                namespace="default", revision=f"{name}-00001", configuration=name,
                service=name, image=f"unkai.local/default/{name}@{digest}",
                bundle=store.path(digest), timeout_seconds=10,
            )  # fmt: skip

        runner = ProcessRunner(
            logs=LogFiles(root / "logs"), environments=root / "envs", isolate=isolate,
            shared_base=shared,
        )  # fmt: skip
        try:
            if isolate and runner.gaps:
                return f"| sandboxed, base {shared} | skipped: {'; '.join(runner.gaps)} |"
            await runner.prepare(spec("first"))
            before = procmem.mib(procmem.family(os.getpid())[1:], "Pss")
            for number in range(1, n):
                await runner.prepare(spec(f"zygote{number}"))
            after = procmem.mib(procmem.family(os.getpid())[1:], "Pss")
            times, cpu = [], children_cpu()
            for number in range(starts):
                began = time.perf_counter()
                instance = await runner.start(spec(f"cold{number}"))
                transport = httpx2.AsyncHTTPTransport(uds=str(instance.socket_path))
                async with httpx2.AsyncClient(transport=transport) as client:
                    response = await client.get("http://instance/")
                assert response.status_code == 200
                times.append((time.perf_counter() - began) * 1e3)
                await runner.retire(instance.spec.key)  # its zygote goes: the next is new
            cpu = (children_cpu() - cpu) / starts * 1e3
        finally:
            await runner.close()
    way = "forked from the base" if shared else "started on its own"
    where = "sandboxed" if isolate else "unsandboxed"
    per = (after - before) / (n - 1)
    p50, low = statistics.median(times), min(times)
    # a sandboxed zygote of its own ends with its pid namespace, whose processes nobody
    # reaps: their CPU time is not added to any parent's
    used = "n/a" if isolate and not shared else f"{cpu:.0f} ms"
    return (
        f"| {where}, zygote {way} | {after:.0f} MiB | {per:.1f} MiB | {p50:.0f} ms "
        f"(min {low:.0f}) | {used} |"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="zygotes prepared")
    parser.add_argument("--starts", type=int, default=20, help="first instances timed")
    args = parser.parse_args()
    rows = []
    for isolate in (False, True):
        for shared in (True, False):
            rows.append(await measure(shared=shared, isolate=isolate, n=args.n, starts=args.starts))
    load = " / ".join(f"{figure:.2f}" for figure in os.getloadavg())
    print(f"{args.n} zygotes of the hello function; {args.starts} starts (load average {load})\n")
    print("| runner | PSS, all zygotes | PSS per further zygote | first instance of a "
          "revision without a zygote, p50 | children's CPU per start |")  # fmt: skip
    print("|---|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    asyncio.run(main())
