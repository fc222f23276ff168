"""CPU per request of the runtime's cloudevent signature, in process, before and after.

Run: ``.venv/bin/python benchmarks/cloudevent_runtime.py [--before REV] [-n N]``.
Drives the signatures' ASGI ``handle`` directly (no server, no sockets: what is left is
the decode, the SDK event, the call and the encode) with the request
``runtime_throughput.py``'s echo row sends (``ce_post.lua``), in binary and in
structured mode, an ``async def`` echo returning the event it got, and an ``async def``
http hello for reference. Each figure is the best of five runs of ``-n`` requests, in
CPU µs (``time.process_time``), which moves less with the machine's load than wall
time; the load average is printed with it. ``--before REV`` measures the tree of git
revision ``REV`` too (``git archive`` of its ``src`` into a temporary folder, run in
a child process with it first on ``PYTHONPATH``), in the same run, just before.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CE_HEADERS = [(b"ce-specversion", b"1.0"), (b"ce-id", b"bench-1"),
              (b"ce-type", b"dev.unkai.bench"), (b"ce-source", b"/bench")]  # fmt: skip
CLIENT_HEADERS = [(b"host", b"127.0.0.1:8080"), (b"user-agent", b"wrk")]
BINARY = (
    [*CLIENT_HEADERS, (b"content-length", b"8"), (b"content-type", b"application/json"),
     *CE_HEADERS],
    b'{"n": 1}',
)  # fmt: skip
STRUCTURED_BODY = json.dumps(
    {"specversion": "1.0", "id": "bench-1", "type": "dev.unkai.bench", "source": "/bench",
     "datacontenttype": "application/json", "data": {"n": 1}}
).encode()  # fmt: skip
STRUCTURED = (
    [*CLIENT_HEADERS, (b"content-length", b"%d" % len(STRUCTURED_BODY)),
     (b"content-type", b"application/cloudevents+json")],
    STRUCTURED_BODY,
)  # fmt: skip


async def echo(event: Any) -> Any:
    return event


async def hello(request: Any) -> bytes:
    return b"Hello, world!"


def cpu_us(handle: Callable[..., Awaitable[None]], request: tuple[Any, bytes], n: int) -> float:
    """Best of five: CPU µs per call of ``handle`` with ``request``, 2xx checked."""
    headers, body = request
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers,
             "query_string": b"", "scheme": "http", "http_version": "1.1"}  # fmt: skip
    message = {"type": "http.request", "body": body, "more_body": False}
    statuses = []

    async def receive() -> dict[str, Any]:
        return message

    async def send(reply: dict[str, Any]) -> None:
        if reply["type"] == "http.response.start":
            statuses.append(reply["status"])

    async def run(count: int) -> float:
        start = time.process_time()
        for _ in range(count):
            await handle(scope, receive, send)
        return time.process_time() - start

    async def best() -> float:
        await run(n // 10)  # warm-up
        return min([await run(n) for _ in range(5)]) / n * 1e6

    figure = asyncio.run(best())
    if set(statuses) - {200}:
        raise RuntimeError(f"non-200 answers: {sorted(set(statuses))}")
    return figure


def measure(n: int) -> dict[str, float]:
    from unkai.runtime.signatures.cloudevent import CloudEventFunction
    from unkai.runtime.signatures.http import HttpFunction
    from unkai.runtime.workers import Workers

    executor = Workers(1)
    try:
        ce = CloudEventFunction(echo, executor)
        http = HttpFunction(hello, executor)
        return {
            "cloudevent echo, binary": cpu_us(ce.handle, BINARY, n),
            "cloudevent echo, structured": cpu_us(ce.handle, STRUCTURED, n),
            "http hello": cpu_us(http.handle, ([*CLIENT_HEADERS], b""), n),
        }
    finally:
        executor.shutdown(1.0)


def before(revision: str, n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tree:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", revision, "src"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tree], input=archive, check=True)
        env = {**os.environ, "PYTHONPATH": f"{tree}/src"}
        child = [sys.executable, __file__, "-n", str(n), "--json"]
        output = subprocess.run(child, env=env, check=True, capture_output=True, text=True)
        figures: dict[str, float] = json.loads(output.stdout)
        return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=20_000, help="requests per run")
    parser.add_argument("--before", metavar="REV", help="also measure git revision REV")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.n)))
        return
    rows = {}
    if args.before:
        rows[args.before] = before(args.before, args.n)
    rows["this tree"] = measure(args.n)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"in-process CPU µs per request, best of 5 × {args.n:,}; load average {load}\n")
    names = list(rows["this tree"])
    print("| tree | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for tree, figures in rows.items():
        print(f"| {tree} | " + " | ".join(f"{figures[name]:.1f}" for name in names) + " |")


if __name__ == "__main__":
    main()
