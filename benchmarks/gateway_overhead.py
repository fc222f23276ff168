"""Gateway overhead: wrk against an instance directly and through the gateway, same run.

Run by hand (needs wrk): ``.venv/bin/python benchmarks/gateway_overhead.py``.

Two handlers: ``/`` (hello) and ``/burn`` (1 ms of CPU). The instance is plain
uvicorn (uvloop, httptools) pinned to CPU 0; the gateway is pinned to CPU 1 and wrk
shares CPU 1 with it (2 cores: the instance gets a core of its own, as it would on a
bigger machine; the gateway pays for wrk's share, so its figures are conservative).
The direct runs use the same placement (instance on 0, wrk on 1). Each point is a
warm-up, then ``--seconds`` of wrk; printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
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


def serve_instance(port: int) -> None:
    import uvicorn

    uvicorn.run(
        app,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="off",
    )


def serve_gateway(port: int, instance: int) -> None:
    import uvloop

    from unkai.platform.controllers.route import RoutingTable
    from unkai.platform.gateway import Endpoint, Gateway, RevisionKey

    async def run() -> None:
        gateway = Gateway()
        key = RevisionKey("default", "hello-00001")
        gateway.set_route("default", RoutingTable(host=HOST, split=((key.name, 100),)))
        gateway.set_endpoints(key, [Endpoint("127.0.0.1", instance)])
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
    instance_port, gateway_port = free_port(), free_port()
    processes = [
        start(0, "instance", str(instance_port)),
        start(1, "gateway", str(gateway_port), str(instance_port)),
    ]
    try:
        wait_listening(instance_port)
        wait_listening(gateway_port)
        print(
            "| handler | c | direct req/s | gateway req/s | × direct | direct p50/p99 ms "
            "| gateway p50/p99 ms | added p50 ms |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for path in ("/", "/burn"):
            for connections in args.connections:
                row = {}
                for name, port in (("direct", instance_port), ("gateway", gateway_port)):
                    url = f"http://127.0.0.1:{port}{path}"
                    wrk(url, connections=connections, seconds=2, host=HOST)  # warm-up
                    row[name] = wrk(url, connections=connections, seconds=args.seconds, host=HOST)
                direct, gateway = row["direct"], row["gateway"]
                print(
                    f"| {'hello' if path == '/' else '1 ms CPU'} | {connections} "
                    f"| {direct['rps']:,.0f} | {gateway['rps']:,.0f} "
                    f"| {gateway['rps'] / direct['rps']:.2f} "
                    f"| {direct['p50']:.3f} / {direct['p99']:.3f} "
                    f"| {gateway['p50']:.3f} / {gateway['p99']:.3f} "
                    f"| {gateway['p50'] - direct['p50']:.3f} |",
                    flush=True,
                )
    finally:
        for process in processes:
            process.terminate()
            process.wait()


if __name__ == "__main__":
    if sys.argv[1:2] == ["instance"]:
        serve_instance(int(sys.argv[2]))
    elif sys.argv[1:2] == ["gateway"]:
        serve_gateway(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
