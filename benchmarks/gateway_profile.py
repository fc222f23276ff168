"""Where the gateway's CPU goes per request: cProfile of a gateway under wrk.

Run by hand: ``.venv/bin/python benchmarks/gateway_profile.py [--seconds 5] [-c 32]``.
A uvicorn hello (``bare_asgi.py``, uvloop, httptools) on a Unix socket pinned to CPU 0;
a gateway on this process's main thread on CPU 1, on uvloop, profiled while wrk (CPU 1) loads it.
Prints the gateway's user and system CPU time per request (from the process's own
times over the run) and the functions with the most time of their own. cProfile slows
Python calls down, so the profile says where the time goes, not how much there is:
the per-request CPU line is measured in a second run without the profiler.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import uvloop
from loadgen import wrk

from unkai.platform.contracts import RevisionKey, RoutingTable
from unkai.platform.gateway import Endpoint, Gateway

HERE = Path(__file__).parent
HOST = "hello.default.localhost"


async def session(socket_path: str, connections: int, seconds: int) -> cProfile.Profile:
    """A gateway on this thread's loop, routing to the socket, loaded twice by wrk (from
    a worker thread): once as it is, once profiled."""
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("-c", "--connections", type=int, default=32)
    args = parser.parse_args()
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
            profile = uvloop.run(session(socket_path, args.connections, args.seconds))
        finally:
            instance.terminate()
            instance.wait()
    stats = pstats.Stats(profile)
    stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
