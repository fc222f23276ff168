"""The concurrency breaker: ``containerConcurrency`` is a hard limit per instance.

Knative's TestSingleConcurrency (CC 1, five clients at once, an app that fails if it
ever sees two requests) and the breaker's queue: 10 × CC per ready instance, then
503 "pending request queue full". Requests go to the least-loaded instance.
"""

import select
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from tests.gateway.conftest import NS, RunningGateway, wait_for
from tests.gateway.upstreams import Upstream

from unkai.platform.contracts import RevisionKey


def test_cc1_never_lets_an_instance_see_two_requests(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    single = upstream("single")
    gw.endpoints("hello-00001", single)
    gw.configure("hello-00001", container_concurrency=1)
    host = gw.route("hello", {"hello-00001": 100})
    deadline = time.monotonic() + 1.5

    def client_loop() -> list[int]:
        codes = []
        with gw.client(host) as client:
            while time.monotonic() < deadline:
                codes.append(client.get("/?delay=0.01").status_code)
        return codes

    with ThreadPoolExecutor(5) as pool:
        codes = [
            code
            for future in [pool.submit(client_loop) for _ in range(5)]
            for code in future.result()
        ]
    assert len(codes) > 20
    assert set(codes) == {200}
    assert single.log.peak == 1


def send_raw(port: int, host: str, path: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    return sock


def test_beyond_the_queue_requests_get_503(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    gw.endpoints("hello-00001", upstream("slow"))
    gw.configure("hello-00001", container_concurrency=1)  # 1 in flight + 10 queued
    host = gw.route("hello", {"hello-00001": 100})
    socks = [send_raw(gw.gateway.port, host, "/?delay=5") for _ in range(13)]
    try:
        stats = gw.call(gw.gateway.stats, RevisionKey(NS, "hello-00001"))
        assert stats is not None
        wait_for(lambda: stats.requests == 13)  # every request has had its answer or place
        assert (stats.in_flight, stats.held) == (11, 10)  # so only two were answered
        answered: list[socket.socket] = []
        while len(answered) < 2:
            ready, _, _ = select.select([s for s in socks if s not in answered], [], [], 5)
            assert ready, "the refused requests got no answer"
            answered += ready
        assert len(answered) == 2
        for sock in answered:
            response = sock.recv(65536)
            assert response.startswith(b"HTTP/1.1 503 ")
            assert response.endswith(b"\r\n\r\npending request queue full")
    finally:
        for sock in socks:
            sock.close()
    # Clients that leave free their place: held ones at once, the running one too.
    wait_for(lambda: stats.in_flight == 0 and stats.held == 0)


def test_requests_go_to_the_least_loaded_instance(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    first, second = upstream("slow", "first"), upstream("slow", "second")
    gw.endpoints("hello-00001", first, second)
    host = gw.route("hello", {"hello-00001": 100})
    with ThreadPoolExecutor(4) as pool, gw.client(host) as client:
        futures = [pool.submit(client.get, "/?delay=0.5") for _ in range(4)]
        assert [future.result(5).status_code for future in futures] == [200] * 4
    assert (first.log.served, second.log.served) == (2, 2)
