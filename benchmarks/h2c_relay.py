"""gRPC through the gateway's h2c relay, against the same grpcio server called directly.

One grpcio server (8 worker threads) answers a unary ``Say`` echoing 100 bytes. A
grpcio client makes ``--calls`` sequential calls (c=1: the latency the relay adds),
then the same calls from ``--threads`` threads over one channel (HTTP/2 multiplexing,
as gRPC clients do), first directly, then through a gateway on its own uvloop thread
routing by authority. Prints p50/p99 per call at c=1 and calls/s multiplexed.

    .venv/bin/python benchmarks/h2c_relay.py [--calls 2000] [--threads 16]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
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


def gateway_to(port: int) -> tuple[Gateway, asyncio.AbstractEventLoop]:
    loop = uvloop.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    gateway = Gateway(GatewayConfig())

    async def setup() -> None:
        await gateway.start("127.0.0.1", 0)
        key = RevisionKey("default", "echo-00001")
        gateway.set_route("default", RoutingTable(host=HOST, split=(("echo-00001", 100),)))
        gateway.configure_revision(key, RevisionSettings(h2c=True))
        gateway.set_endpoints(key, [Endpoint("127.0.0.1", port)])

    asyncio.run_coroutine_threadsafe(setup(), loop).result(10)
    return gateway, loop


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
        latencies.sort()

        def worker() -> None:
            for _ in range(calls // threads):
                say(payload, timeout=10)

        start = time.perf_counter()
        with futures.ThreadPoolExecutor(threads) as pool:
            for _ in range(threads):
                pool.submit(worker)
        rate = (calls // threads) * threads / (time.perf_counter() - start)
    return (
        statistics.median(latencies) * 1e6,
        latencies[int(len(latencies) * 0.99)] * 1e6,
        rate,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    server, port = echo_server()
    gateway, _ = gateway_to(port)
    rows = {
        "direct": measure(f"127.0.0.1:{port}", None, args.calls, args.threads),
        "gateway": measure(f"127.0.0.1:{gateway.port}", HOST, args.calls, args.threads),
    }
    print(f"{'path':8} {'p50 µs':>8} {'p99 µs':>8} {'calls/s c=' + str(args.threads):>14}")
    for name, (p50, p99, rate) in rows.items():
        print(f"{name:8} {p50:8.0f} {p99:8.0f} {rate:14.0f}")
    server.stop(None)


if __name__ == "__main__":
    main()
