"""Where the gateway's CPU goes per request: cProfile of a gateway under wrk.

Run by hand: ``.venv/bin/python benchmarks/gateway_profile.py [--seconds 5] [-c 32]
[--perf] [--floor]``.
A uvicorn hello (``bare_asgi.py``, uvloop, httptools) on a Unix socket pinned to CPU 0;
a gateway on this process's main thread on CPU 1, on uvloop, profiled while wrk (CPU 1) loads it.
Prints the gateway's user and system CPU time per request (from the process's own
times over the run) and the functions with the most time of their own. cProfile slows
Python calls down, so the profile says where the time goes, not how much there is:
the per-request CPU line is measured in a second run without the profiler.

``--perf`` adds a third run under ``perf record -e cpu-clock`` (Debian's
``linux-perf``; the software clock, which works where hardware counters are not
exposed) and prints where the process's CPU went by binary: the kernel, the
interpreter, httptools' parser, uvloop, libc. The interpreter's share is what a
faster Python request path could save at most; the rest a Python gateway pays
however little Python it runs (docs/benchmarks.md). ``--floor`` loads, right after
the gateway and placed the same, the least a Python proxy on uvloop and httptools can
do (``gateway_floor.py``) and prints its CPU per request beside the gateway's.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import gateway_floor
import uvloop
from loadgen import wrk

from unkai.platform.contracts import RevisionKey, RoutingTable
from unkai.platform.gateway import Endpoint, Gateway

HERE = Path(__file__).parent
HOST = "hello.default.localhost"


async def session(
    socket_path: str, connections: int, seconds: int, *, perf: bool, floor: bool
) -> cProfile.Profile:
    """A gateway on this thread's loop, routing to the socket, loaded twice by wrk (from
    a worker thread): once as it is, once profiled; with ``perf``, once more under
    ``perf record``; with ``floor``, the floor relay (:mod:`gateway_floor`) is loaded
    the same way right after the gateway's first run."""
    gateway = Gateway()
    key = RevisionKey("default", "hello-00001")
    gateway.set_route("default", RoutingTable(host=HOST, split=((key.name, 100),)))
    gateway.set_endpoints(key, [Endpoint("127.0.0.1", 0, socket_path)])
    await gateway.start("127.0.0.1", 0)
    run, user, system = await asyncio.to_thread(load, gateway.port, connections, seconds)
    requests = run["requests"]
    print(
        f"unprofiled: {run['rps']:,.0f} req/s; gateway CPU per request "
        f"{user / requests * 1e6:.1f} µs user + {system / requests * 1e6:.1f} µs system"
    )
    if floor:
        relay, port = await gateway_floor.start(socket_path)
        run, user, system = await asyncio.to_thread(load, port, connections, seconds)
        print(
            f"floor relay: {run['rps']:,.0f} req/s; CPU per request "
            f"{user / run['requests'] * 1e6:.1f} µs user "
            f"+ {system / run['requests'] * 1e6:.1f} µs system"
        )
        relay.close()
    if perf:
        await asyncio.to_thread(recorded, gateway.port, connections, seconds)
    profile = cProfile.Profile()
    profile.enable()
    await asyncio.to_thread(load, gateway.port, connections, seconds)
    profile.disable()
    await gateway.stop(grace=1)
    return profile


def load(port: int, connections: int, seconds: int) -> tuple[dict[str, float], float, float]:
    """wrk's figures, and this process's user and system seconds over the run."""
    url = f"http://127.0.0.1:{port}/"
    wrk(url, connections=connections, seconds=1, host=HOST)  # warm-up
    before = os.times()
    run = wrk(url, connections=connections, seconds=seconds, host=HOST)
    after = os.times()
    return run, after.user - before.user, after.system - before.system


def recorded(port: int, connections: int, seconds: int) -> None:
    """A load run under ``perf record`` of this process (not of the wrk it starts);
    prints its samples by binary, as shares and as µs of its CPU per request."""
    with tempfile.TemporaryDirectory() as directory:
        data = os.path.join(directory, "perf.data")
        recorder = subprocess.Popen(
            ["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-p", str(os.getpid()),
             "--no-inherit", "-o", data, "--", "sleep", str(seconds + 1)],
        )  # fmt: skip
        run, user, system = load(port, connections, seconds)
        recorder.wait()
        print_shares(data, (user + system) / run["requests"])


def print_shares(data: str, per_request: float) -> None:
    """perf's samples in ``data`` by binary."""
    report = subprocess.run(
        ["perf", "report", "-i", data, "--sort", "dso", "--stdio", "--percent-limit", "0.5"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    print("where the gateway's CPU goes, by binary (perf, cpu-clock samples):")
    for line in report.splitlines():
        if line.strip() and not line.startswith("#"):
            share, binary = line.split(maxsplit=1)
            per = float(share.rstrip("%")) / 100 * per_request * 1e6
            print(f"  {share:>7}  {per:5.1f} µs/req  {binary}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("-c", "--connections", type=int, default=32)
    parser.add_argument("--perf", action="store_true", help="where the CPU goes, by binary")
    parser.add_argument("--floor", action="store_true", help="the floor relay, for scale")
    args = parser.parse_args()
    if args.perf and shutil.which("perf") is None:
        parser.error("--perf needs perf (Debian: apt-get install linux-perf)")
    os.sched_setaffinity(0, {1})
    with tempfile.TemporaryDirectory() as directory:
        socket_path = os.path.join(directory, "instance.sock")
        instance = subprocess.Popen(
            ["taskset", "-c", "0", sys.executable, "-m", "uvicorn", "bare_asgi:app",
             "--uds", socket_path, "--loop", "uvloop", "--http", "httptools",
             "--no-access-log", "--log-level", "warning"],
            cwd=HERE,
        )  # fmt: skip
        try:
            while not os.path.exists(socket_path):
                if instance.poll() is not None:
                    raise RuntimeError("the instance exited")
                threading.Event().wait(0.05)
            profile = uvloop.run(
                session(
                    socket_path, args.connections, args.seconds, perf=args.perf, floor=args.floor
                )
            )
        finally:
            instance.terminate()
            instance.wait()
    stats = pstats.Stats(profile)
    stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
