"""Footprint: `unkai up` RSS and PSS idle, and with 100 services deployed and scaled to zero.

Run by hand: ``.venv/bin/python benchmarks/footprint.py [--count 100]``. The
autoscaler's stable window is Knative's 60 s, so the run waits about two minutes for
scale to zero. Memory is reported for the platform process alone and with its children
(the fork-servers kept per revision so that the next cold start is a fork), as RSS and
as PSS (from /proc/PID/smaps_rollup): PSS shares each page among the processes that map
it, so it adds up to what the machine spends, where RSS counts a page a fork-server
shares with its instances once in each.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import procmem
from platform_client import Running, platform

HERE = Path(__file__).parent


def memory(unkai: Running) -> str:
    """``| platform RSS | platform PSS | all RSS | all PSS |`` cells."""
    alone, family = [unkai.pid], procmem.family(unkai.pid)
    cells = [procmem.mib(pids, field) for pids in (alone, family) for field in ("Rss", "Pss")]
    return " | ".join(f"{value:,.0f} MiB" for value in cells)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100)
    count = parser.parse_args().count
    with platform() as unkai:
        time.sleep(2)  # start-up work done
        idle = memory(unkai)
        for number in range(count):
            unkai.deploy(f"svc-{number:03d}", HERE / "functions" / "hello_http")
        for number in range(count):
            unkai.wait_ready(f"svc-{number:03d}", timeout=600)
        deployed = memory(unkai)
        deadline = time.monotonic() + 600
        while unkai.metric("unkai_autoscaler_ready_pods") > 0 and time.monotonic() < deadline:
            time.sleep(1)
        zero = memory(unkai)
    print(f"`unkai up`, {count} hello services (one bundle), process runner with fork-servers\n")
    print("| state | platform RSS | platform PSS | with children RSS | with children PSS |")
    print("|---|---:|---:|---:|---:|")
    print(f"| idle, nothing deployed | {idle} |")
    print(f"| {count} services, one instance each | {deployed} |")
    print(f"| {count} services scaled to zero | {zero} |")


if __name__ == "__main__":
    main()
