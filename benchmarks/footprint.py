"""Footprint: `unkai up` RSS idle, and with 100 services deployed and scaled to zero.

Run by hand: ``.venv/bin/python benchmarks/footprint.py``. The autoscaler's stable
window is Knative's 60 s, so the run waits about two minutes for scale to zero. RSS is
reported for the platform process alone and with its children (the fork-servers kept
per revision so that the next cold start is a fork).
"""

from __future__ import annotations

import time
from pathlib import Path

from platform_client import platform

HERE = Path(__file__).parent


def main(count: int = 100) -> None:
    with platform() as unkai:
        time.sleep(2)
        idle = unkai.rss_mib(with_children=False)
        for number in range(count):
            unkai.deploy(f"svc-{number:03d}", HERE / "functions" / "hello_http")
        for number in range(count):
            unkai.wait_ready(f"svc-{number:03d}", timeout=600)
        deployed = unkai.rss_mib(with_children=False), unkai.rss_mib(with_children=True)
        deadline = time.monotonic() + 600
        while unkai.metric("unkai_autoscaler_ready_pods") > 0 and time.monotonic() < deadline:
            time.sleep(1)
        zero = unkai.rss_mib(with_children=False), unkai.rss_mib(with_children=True)
    print(f"`unkai up`, {count} hello services (one bundle), process runner with fork-servers\n")
    print("| state | platform RSS | with fork-servers and instances |")
    print("|---|---:|---:|")
    print(f"| idle, nothing deployed | {idle:.0f} MiB | — |")
    print(
        f"| {count} services, one instance each | {deployed[0]:.0f} MiB | {deployed[1]:.0f} MiB |"
    )
    print(f"| {count} services scaled to zero | {zero[0]:.0f} MiB | {zero[1]:.0f} MiB |")


if __name__ == "__main__":
    main()
