"""Gateway overhead: wrk against an instance directly and through the gateway, same run.

Run by hand (needs wrk): ``.venv/bin/python benchmarks/gateway_overhead.py``.

Two handlers: ``/`` (hello) and ``/burn`` (1 ms of CPU). The instance is plain
uvicorn (uvloop, httptools) pinned to CPU 0, listening on a loopback port and on a
Unix socket. Two gateways are pinned to CPU 1, one reaching the instance through the
Unix socket (as the platform reaches the process runner's instances) and one through
TCP (as it reaches containers); only the one under test has work. wrk shares CPU 1
with the gateways (2 cores: the instance gets a core of its own, as it would on a
bigger machine; the gateway pays for wrk's share, so its figures are conservative).
The direct runs use the same placement (instance on 0, wrk on 1). Each point is a
warm-up, then ``--seconds`` of wrk; printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

from loadgen import free_port, wait_listening, wrk

PYTHON = sys.executable
HOST = "hello.default.localhost"


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The instance: hello, or hello after burning 1 ms of CPU on ``/burn``."""
    if scope["type"] != "http":
        return
    if scope["path"] == "/burn":
        until = time.perf_counter() + 0.001
        while time.perf_counter() < until:
            pass
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"Hello, world!"})


def serve_instance(port: int, path: str) -> None:
    """The instance on a loopback port (for wrk, and the gateway's TCP way in) and on a
    Unix socket (the gateway's way in to the process runner's instances)."""
    import socket

    import uvicorn

    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    tcp.bind(("127.0.0.1", port))
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(path)
    config = uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="off",
    )
    uvicorn.Server(config).run(sockets=[tcp, unix])


def serve_gateway(port: int, endpoint: str) -> None:
    """A gateway routing every request to the instance at ``endpoint``: a port, or the
    path of a Unix socket."""
    import uvloop

    from unkai.platform.contracts import RevisionKey, RoutingTable
    from unkai.platform.gateway import Endpoint, Gateway

    async def run() -> None:
        gateway = Gateway()
        key = RevisionKey("default", "hello-00001")
        gateway.set_route("default", RoutingTable(host=HOST, split=((key.name, 100),)))
        if endpoint.isdigit():
            gateway.set_endpoints(key, [Endpoint("127.0.0.1", int(endpoint))])
        else:
            gateway.set_endpoints(key, [Endpoint("127.0.0.1", 0, endpoint)])
        await gateway.start("127.0.0.1", port)
        await asyncio.Event().wait()

    uvloop.run(run())


def start(cpu: int, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["taskset", "-c", str(cpu), PYTHON, __file__, *args])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 32])
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="unkai-bench-")
    unix_path = os.path.join(directory, "instance.sock")
    instance_port, via_unix, via_tcp = free_port(), free_port(), free_port()
    processes = [start(0, "instance", str(instance_port), unix_path)]
    try:
        wait_listening(instance_port)
        processes += [
            start(1, "gateway", str(via_unix), unix_path),
            start(1, "gateway", str(via_tcp), str(instance_port)),
        ]
        wait_listening(via_unix)
        wait_listening(via_tcp)
        targets = (
            ("direct", instance_port),
            ("gateway → Unix socket", via_unix),
            ("gateway → TCP", via_tcp),
        )
        print("| handler | c | path | req/s | × direct | p50 / p99 ms | added p50 ms |")
        print("|---|---:|---|---:|---:|---|---:|")
        for path in ("/", "/burn"):
            handler = "hello" if path == "/" else "1 ms CPU"
            for connections in args.connections:
                direct: dict[str, float] = {}
                for name, port in targets:
                    url = f"http://127.0.0.1:{port}{path}"
                    wrk(url, connections=connections, seconds=2, host=HOST)  # warm-up
                    run = wrk(url, connections=connections, seconds=args.seconds, host=HOST)
                    direct = direct or run
                    print(
                        f"| {handler} | {connections} | {name} | {run['rps']:,.0f} "
                        f"| {run['rps'] / direct['rps']:.2f} "
                        f"| {run['p50']:.3f} / {run['p99']:.3f} "
                        f"| {run['p50'] - direct['p50']:.3f} |",
                        flush=True,
                    )
    finally:
        for process in processes:
            process.terminate()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["instance"]:
        serve_instance(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1:2] == ["gateway"]:
        serve_gateway(int(sys.argv[2]), sys.argv[3])
    else:
        main()
