"""gRPC through the gateway's h2c relay, against the same grpcio server called directly.

One grpcio server (8 worker threads) answers a unary ``Say`` echoing 100 bytes. A
grpcio client makes ``--calls`` sequential calls (c=1: the latency the relay adds),
then the same calls from ``--threads`` threads over one channel (HTTP/2 multiplexing,
as gRPC clients do), first directly, then through a gateway on its own uvloop thread
routing by authority. Then the same call as an HTTP/1.1 client sends it (``curl -H
'te: trailers'``: one keep-alive connection, sequential), which the gateway turns into
an HTTP/2 stream on a connection of its own (``gateway.h1toh2``). Prints p50/p99 per
call at c=1, calls/s multiplexed, the gateway thread's CPU time per call (from
``/proc``, so the figure holds on a loaded machine) and the load average. With
``--profile``, the gateway thread runs under cProfile for each gateway path instead,
and the functions taking the most time (their own) are printed with their call
counts per call (a write per call is a system call per call).

    .venv/bin/python benchmarks/h2c_relay.py [--calls 2000] [--threads 16] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import http.client
import os
import pstats
import statistics
import threading
import time
from collections.abc import Callable
from concurrent import futures

import grpc
import uvloop

from unkai.platform.contracts import RevisionKey, RoutingTable
from unkai.platform.gateway import Endpoint, Gateway, GatewayConfig, RevisionSettings

HOST = "echo.default.localhost"


def echo_server() -> tuple[grpc.Server, int]:
    handler = grpc.unary_unary_rpc_method_handler(lambda request, context: request)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("echo.Echo", {"Say": handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def gateway_to(port: int) -> tuple[Gateway, Callable[[], float], asyncio.AbstractEventLoop]:
    """A gateway routing to ``port``, a clock of its thread's CPU seconds, its loop."""
    loop = uvloop.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    gateway = Gateway(GatewayConfig())
    tid = asyncio.run_coroutine_threadsafe(_native_id(), loop).result(10)
    ticks = os.sysconf("SC_CLK_TCK")

    def cpu() -> float:
        with open(f"/proc/self/task/{tid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime

    async def setup() -> None:
        await gateway.start("127.0.0.1", 0)
        key = RevisionKey("default", "echo-00001")
        gateway.set_route("default", RoutingTable(host=HOST, split=(("echo-00001", 100),)))
        gateway.configure_revision(key, RevisionSettings(h2c=True))
        gateway.set_endpoints(key, [Endpoint("127.0.0.1", port)])

    asyncio.run_coroutine_threadsafe(setup(), loop).result(10)
    return gateway, cpu, loop


def profile(
    loop: asyncio.AbstractEventLoop, name: str, calls: int, run: Callable[[], object]
) -> None:
    """Run ``run`` with the gateway's thread under cProfile; print its top functions."""
    profiler = cProfile.Profile()

    async def switch(on: bool) -> None:
        profiler.enable() if on else profiler.disable()

    asyncio.run_coroutine_threadsafe(switch(True), loop).result(10)
    run()
    asyncio.run_coroutine_threadsafe(switch(False), loop).result(10)
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]  # no typed accessor
    rows = sorted(stats.items(), key=lambda item: -item[1][2])[:15]
    print(f"\n{name}: gateway thread, {calls} calls; own time per call, calls per call")
    for (path, line, function), (_, count, own, _, _) in rows:
        where = f"{path.rpartition('/')[2]}:{line}({function})"
        print(f"  {own / calls * 1e6:7.1f} µs  {count / calls:6.2f}  {where}")


async def _native_id() -> int:
    return threading.get_native_id()


def percentiles(latencies: list[float]) -> tuple[float, float]:
    latencies.sort()
    return statistics.median(latencies) * 1e6, latencies[int(len(latencies) * 0.99)] * 1e6


def measure_http1(port: int, calls: int) -> tuple[float, float]:
    """p50 and p99 of ``calls`` sequential gRPC calls sent as HTTP/1.1 requests."""
    message = b"x" * 100
    body = b"\x00" + len(message).to_bytes(4, "big") + message
    headers = {"Host": HOST, "Content-Type": "application/grpc", "TE": "trailers"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies = []
    for number in range(200 + calls):  # the first 200 warm up
        start = time.perf_counter()
        connection.request("POST", "/echo.Echo/Say", body=body, headers=headers)
        answer = connection.getresponse()
        assert answer.read() == body, answer.status
        if number >= 200:
            latencies.append(time.perf_counter() - start)
    connection.close()
    return percentiles(latencies)


def measure(target: str, authority: str | None, calls: int, threads: int) -> tuple[float, ...]:
    options = [("grpc.default_authority", authority)] if authority else []
    payload = b"x" * 100
    with grpc.insecure_channel(target, options=options) as channel:
        say = channel.unary_unary("/echo.Echo/Say")
        for _ in range(200):  # warm up
            say(payload, timeout=10)
        latencies = []
        for _ in range(calls):
            start = time.perf_counter()
            say(payload, timeout=10)
            latencies.append(time.perf_counter() - start)

        def worker() -> None:
            for _ in range(calls // threads):
                say(payload, timeout=10)

        start = time.perf_counter()
        with futures.ThreadPoolExecutor(threads) as pool:
            for _ in range(threads):
                pool.submit(worker)
        rate = (calls // threads) * threads / (time.perf_counter() - start)
    return (*percentiles(latencies), rate)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    server, port = echo_server()
    gateway, cpu, loop = gateway_to(port)
    if args.profile:
        target = f"127.0.0.1:{gateway.port}"
        relayed_calls = 200 + 2 * args.calls
        profile(
            loop, "h2→h2c", relayed_calls, lambda: measure(target, HOST, args.calls, args.threads)
        )
        profile(loop, "h1→h2c", 200 + args.calls, lambda: measure_http1(gateway.port, args.calls))
        server.stop(None)
        return
    direct = measure(f"127.0.0.1:{port}", None, args.calls, args.threads)
    before = cpu()
    relayed = measure(f"127.0.0.1:{gateway.port}", HOST, args.calls, args.threads)
    relay_cpu = (cpu() - before) / (200 + 2 * args.calls) * 1e6  # warm-up included
    before = cpu()
    http1 = measure_http1(gateway.port, args.calls)
    http1_cpu = (cpu() - before) / (200 + args.calls) * 1e6
    print(f"load average {os.getloadavg()[0]:.1f}, {args.calls} calls, {os.cpu_count()} cores")
    print(f"{'path':16} {'p50 µs':>8} {'p99 µs':>8} {'calls/s c=' + str(args.threads):>14}"
          f" {'gateway CPU µs/call':>20}")  # fmt: skip
    rows = [
        ("direct", (*direct, None)),
        ("gateway h2→h2c", (*relayed, relay_cpu)),
        ("gateway h1→h2c", (*http1, None, http1_cpu)),
    ]
    for name, (p50, p99, rate, per_call) in rows:
        rate_text = "-" if rate is None else f"{rate:.0f}"
        cpu_text = "-" if per_call is None else f"{per_call:.0f}"
        print(f"{name:16} {p50:8.0f} {p99:8.0f} {rate_text:>14} {cpu_text:>20}")
    server.stop(None)


if __name__ == "__main__":
    main()
