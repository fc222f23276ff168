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
import re
import socket
import subprocess
import sys
import time
from typing import Any

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def start(cpu: int, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["taskset", "-c", str(cpu), PYTHON, __file__, *args])


def wrk(url: str, *, connections: int, seconds: int) -> dict[str, float]:
    command = [
        "taskset",
        "-c",
        "1",
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-H",
        f"Host: {HOST}",
        url,
    ]
    text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in text or "Socket errors" in text:
        raise RuntimeError(text)
    return {
        "rps": float(_find(r"Requests/sec:\s+([\d.]+)", text)),
        "p50": _ms(_find(r"50%\s+([\d.]+\w+)", text)),
        "p99": _ms(_find(r"99%\s+([\d.]+\w+)", text)),
    }


def _find(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"no {pattern!r} in wrk output:\n{text}")
    return match.group(1)


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


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
                    wrk(url, connections=connections, seconds=2)  # warm-up
                    row[name] = wrk(url, connections=connections, seconds=args.seconds)
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
