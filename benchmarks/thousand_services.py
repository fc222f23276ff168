"""Many services on one machine: memory at zero, settle time, routing, cold starts.

Run by hand: ``.venv/bin/python benchmarks/thousand_services.py [-n 1000]``. Starts
``unkai up`` (a process of its own; sandbox on where the machine allows), deploys one
hello service kept warm (``min-scale: 1``) and times 300 sequential requests to it
through the gateway on one keep-alive connection (routing with one route), then
deploys ``N`` hello services (one bundle, ``window: 6s`` so that they reach zero ~10 s
after their start), waits until all are Ready (the control plane's settle time, from
the first create), then until all are at zero and the process runner has had a look
at its idle zygotes, and reports:

* the total PSS of ``unkai up`` and every process under it (zygotes, instances);
* the warm service's p50 again, now among ``N + 1`` routes;
* the cold start of 50 services chosen at random among those whose zygotes the process
  runner let go (the least recently used beyond ``--idle-zygotes``: a fork of a zygote
  from the base zygote, which imports the function, then of the instance), one ``GET``
  each through the gateway on a fresh connection (client view: connect to the whole
  response); then, once they are at zero again, of the same 50, whose zygotes are now
  kept (a fork of the instance from the revision's zygote).

``--zygote-idle-after`` and ``--idle-zygotes`` are passed to ``unkai up`` when given.

Each hello at its initial scale is a zygote and an instance: ``N`` of them start at
once (8 at a time), so mind the machine's memory before asking for a large ``N``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from platform_client import Running, platform

HELLO = Path(__file__).parent / "functions" / "hello_http"
RETIRE_LOOK = 12.0  # the process runner looks at its idle zygotes every 10 s


def get(connection: http.client.HTTPConnection, host: str) -> float:
    """Ms from sending a ``GET /`` to having read its 200 (connecting included when the
    connection is fresh)."""
    began = time.perf_counter()
    connection.request("GET", "/", headers={"Host": host})
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status
    return (time.perf_counter() - began) * 1e3


def cold(port: int, host: str) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        return get(connection, host)
    finally:
        connection.close()


def warm_p50(unkai: Running, host: str, requests: int = 300) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", unkai.gateway_port, timeout=60)
    try:
        get(connection, host)  # connected
        return statistics.median(get(connection, host) for _ in range(requests))
    finally:
        connection.close()


def total_pss_mib(pid: int) -> float:
    root = psutil.Process(pid)
    total = 0
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += process.memory_full_info().pss
    return total / 2**20


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--services", type=int, default=1000)
    parser.add_argument("--cold", type=int, default=50, help="services to cold-start")
    parser.add_argument("--zygote-idle-after", type=float, help="passed to unkai up")
    parser.add_argument("--idle-zygotes", type=int, default=64, help="passed to unkai up")
    args = parser.parse_args()
    window = {"autoscaling.knative.dev/window": "6s"}
    options = ["--idle-zygotes", str(args.idle_zygotes)]
    if args.zygote_idle_after is not None:
        options += ["--zygote-idle-after", str(args.zygote_idle_after)]
    with platform(*options) as unkai:
        unkai.deploy("warm", HELLO, annotations={"autoscaling.knative.dev/min-scale": "1"})
        unkai.wait_ready("warm")
        alone = warm_p50(unkai, "warm.default.localhost")
        idle_pss = total_pss_mib(unkai.pid)

        names = [f"hello-{number}" for number in range(args.services)]
        began = time.monotonic()
        for name in names:
            unkai.deploy(name, HELLO, annotations=window)
        for name in names:
            unkai.wait_ready(name, timeout=1800)
        settled = time.monotonic() - began

        def at_zero() -> bool:
            ready = unkai.metric("unkai_gateway_ready_instances")
            return ready <= 1 and unkai.metric("unkai_autoscaler_desired_pods") <= 1

        wait_until(at_zero, "the services did not scale to zero", seconds=1800)
        time.sleep(RETIRE_LOOK)
        pss = total_pss_mib(unkai.pid)
        processes = 1 + len(psutil.Process(unkai.pid).children(recursive=True))
        among = warm_p50(unkai, "warm.default.localhost")
        # the first to reach zero are the least recently used: their zygotes went first
        retired = names[: max(len(names) - (args.idle_zygotes or len(names)), 0)]
        chosen = random.sample(retired or names, min(args.cold, len(retired or names)))
        colds = [cold(unkai.gateway_port, f"{name}.default.localhost") for name in chosen]
        wait_until(at_zero, "the cold-started services did not scale to zero", seconds=600)
        kept = [cold(unkai.gateway_port, f"{name}.default.localhost") for name in chosen]

    load = " / ".join(f"{figure:.2f}" for figure in os.getloadavg())
    print(f"{args.services} hello services on `unkai up` (load average after: {load})\n")
    print("| measure | value |\n|---|---:|")
    print(f"| settle: first create to all Ready | {settled:.1f} s |")
    print(f"| total PSS at zero (unkai up + all under it) | {pss:.0f} MiB |")
    print(f"| total PSS with the warm service only | {idle_pss:.0f} MiB |")
    print(f"| PSS per service at zero | {(pss - idle_pss) / args.services:.2f} MiB |")
    print(f"| processes at zero (unkai up + all under it) | {processes} |")
    print(f"| warm request p50, 1 route | {alone:.2f} ms |")
    print(f"| warm request p50, {args.services + 1} routes | {among:.2f} ms |")
    source = "zygote forked from the base" if retired else "some zygotes kept: N too small"
    for what, figures in ((source, colds), ("the revision's kept zygote", kept)):
        p50, low, high = statistics.median(figures), min(figures), max(figures)
        print(f"| cold start p50 of {len(figures)} services, {what} | {p50:.1f} ms |")
        print(f"| cold start min / max, {what} | {low:.1f} / {high:.1f} ms |")


if __name__ == "__main__":
    main()
