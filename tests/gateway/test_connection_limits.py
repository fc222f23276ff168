"""The connection limits on real sockets: idle attackers past the cap do not stop a
user's call, heads that never finish are closed, and ``/metrics`` shows what happened.
"""

import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from prometheus_client import generate_latest
from tests.gateway.conftest import RunningGateway, wait_for
from tests.gateway.upstreams import Upstream


@pytest.fixture
def sockets() -> Iterator[Callable[[int], socket.socket]]:
    """Open raw client sockets to a port; all closed at the end."""
    with ExitStack() as stack:

        def open_to(port: int) -> socket.socket:
            client = socket.create_connection(("127.0.0.1", port), timeout=10)
            stack.callback(client.close)
            return client

        yield open_to


def closed_by_gateway(client: socket.socket) -> bool:
    client.settimeout(10)
    try:
        return client.recv(1) == b""
    except ConnectionResetError:
        return True


def metric(gw: RunningGateway, line_start: str) -> float:
    for line in generate_latest(gw.registry).decode().splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {line_start} in the metrics")


def test_idle_connections_past_the_cap_do_not_stop_a_call(
    start_gateway: Callable[..., RunningGateway],
    upstream: Callable[..., Upstream],
    sockets: Callable[[int], socket.socket],
) -> None:
    gw = start_gateway(max_connections=20)
    gw.endpoints("hello-00001", upstream("echo"))
    host = gw.route("hello", {"hello-00001": 100})
    attackers = [sockets(gw.gateway.port) for _ in range(40)]
    for attacker in attackers[:-20]:  # the oldest idle ones made room for the others
        assert closed_by_gateway(attacker)
    with gw.client(host) as client:
        assert client.get("/").status_code == 200
    shed = 'unkai_gateway_connections_refused_total{reason="shed_idle"}'
    wait_for(lambda: metric(gw, shed) >= 21)  # 20 attackers, then one for the user
    assert metric(gw, "unkai_gateway_connections_limit") == 20
    assert metric(gw, "unkai_gateway_connections_open") <= 20
    assert metric(gw, "unkai_gateway_connections_accepted_total") == 41


@pytest.mark.slow  # the sweep that enforces the timeout runs once a second
def test_a_head_that_never_finishes_is_closed_and_counted(
    start_gateway: Callable[..., RunningGateway], sockets: Callable[[int], socket.socket]
) -> None:
    gw = start_gateway(header_timeout=0.5)
    slow = sockets(gw.gateway.port)
    slow.sendall(b"GET / HTTP/1.1\r\nHost: hello.default.localhost\r\nX-Wait: ")
    assert closed_by_gateway(slow)
    timeouts = 'unkai_gateway_connections_refused_total{reason="header_timeout"}'
    wait_for(lambda: metric(gw, timeouts) == 1)
    wait_for(lambda: metric(gw, 'unkai_gateway_connection_requests_bucket{le="0.0"}') == 1)
    assert metric(gw, "unkai_gateway_unfinished_head_bytes") == 0
