"""Hostile clients on the gateway port (issue 13, item 2), on a fake loop and clock.

Each attack of the issue, in small: idle connections past the cap (the oldest idle
one is shed, a busy one never), heads that never complete (closed at the header
timeout, not after a minute), big unfinished heads on many connections (their total
memory is bounded), and a flood of refusals (logged once per interval, with a count).
"""

import logging
import resource
import subprocess
import sys

import pytest
from tests.gateway.fakes import HOST, Harness

from unkai.platform.gateway import GatewayConfig
from unkai.platform.gateway.limits import Refusal, RefusalLog, connection_cap


def harness(**config: object) -> Harness:
    return Harness(config=GatewayConfig(**config))  # type: ignore[arg-type]


def test_at_the_cap_the_oldest_idle_connection_makes_room() -> None:
    h = harness(max_connections=3)  # h.client is the first connection
    h.loop.advance(1)
    _, second = h.connect()
    h.loop.advance(1)
    _, third = h.connect()
    h.loop.advance(1)
    _, fourth = h.connect()
    assert h.client.closed  # the oldest idle one
    assert not second.closed
    assert not third.closed
    assert not fourth.closed
    assert h.state.refusals.counts[Refusal.SHED_IDLE] == 1
    assert len(h.state.connections) == 3


def test_a_connection_with_a_request_under_way_is_never_shed() -> None:
    h = harness(max_connections=2)
    h.configure(container_concurrency=1)
    h.send()  # held: no instance yet, so the request stays under way
    _, second = h.connect()
    h.loop.advance(1)
    _, third = h.connect()
    assert not h.client.closed
    assert second.closed  # idle, so it made room
    assert not third.closed


def test_with_every_connection_busy_a_new_one_is_refused_with_503() -> None:
    h = harness(max_connections=1)
    h.send()
    _, refused = h.connect()
    assert refused.closed
    assert refused.written.startswith(b"HTTP/1.1 503 ")
    assert b"connection limit" in refused.written
    assert not h.client.closed
    assert h.state.refusals.counts[Refusal.AT_CAPACITY] == 1


def test_a_head_not_complete_within_the_header_timeout_is_closed() -> None:
    h = harness(header_timeout=10)
    h.connection.data_received(b"GET / HTTP/1.1\r\nHost: ")  # then nothing more
    _, silent = h.connect()  # never sends a byte
    h.loop.advance(9.5)
    h.state.expire(h.loop.now)
    assert not h.client.closed
    assert not silent.closed
    h.loop.advance(0.5)
    h.state.expire(h.loop.now)
    assert h.client.closed
    assert silent.closed
    assert h.state.refusals.counts[Refusal.HEADER_TIMEOUT] == 2


def test_the_header_timeout_of_a_keep_alive_request_starts_with_its_first_byte() -> None:
    h = harness(header_timeout=10, keep_alive_timeout=60)
    upstream = h.instance_ready()
    h.send()
    upstream.data_received(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
    h.loop.advance(30)  # idle between requests: the keep-alive limit applies
    h.state.expire(h.loop.now)
    assert not h.client.closed
    h.connection.data_received(b"GET / HTTP/1.1\r\n")
    h.loop.advance(9)
    h.state.expire(h.loop.now)
    assert not h.client.closed
    h.loop.advance(1)
    h.state.expire(h.loop.now)
    assert h.client.closed


def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout() -> None:
    h = harness(keep_alive_timeout=60)
    upstream = h.instance_ready()
    h.send()
    upstream.data_received(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
    h.loop.advance(59)
    h.state.expire(h.loop.now)
    assert not h.client.closed
    h.loop.advance(1)
    h.state.expire(h.loop.now)
    assert h.client.closed
    assert h.state.refusals.counts[Refusal.HEADER_TIMEOUT] == 0


def test_unfinished_heads_of_all_connections_are_bounded_together() -> None:
    h = harness(max_unfinished_head_bytes=100_000)
    chunk = b"GET / HTTP/1.1\r\nx-pad: " + b"a" * 30_000
    transports = []
    for _ in range(5):
        connection, transport = h.connect()
        connection.data_received(chunk)
        transports.append((connection, transport))
    refused = [transport for _, transport in transports if transport.closed]
    assert len(refused) == 2  # three fit under 100,000 bytes
    assert all(t.written.startswith(b"HTTP/1.1 503 ") for t in refused)
    assert h.state.connections.head_bytes <= 100_000
    assert h.state.refusals.counts[Refusal.HEAD_BUDGET] == 2
    for connection, transport in transports:  # what the loop does once they close
        if transport.closed:
            connection.connection_lost(None)
    first, _ = transports[0]
    first.connection_lost(None)
    _, fresh = h.connect()
    assert not fresh.closed
    assert h.state.connections.head_bytes == 2 * len(chunk)


def test_a_complete_head_holds_nothing_against_the_bound() -> None:
    h = harness(max_unfinished_head_bytes=10)
    h.configure(container_concurrency=1)
    h.send()  # far over 10 bytes, but complete in one read
    assert not h.client.closed
    assert h.state.connections.head_bytes == 0


def test_many_tiny_headers_count_for_the_memory_they_hold() -> None:
    h = harness(max_unfinished_head_bytes=100_000)
    h.connection.data_received(b"GET / HTTP/1.1\r\n" + b"a: b\r\n" * 1000)
    assert h.client.closed  # 6,016 bytes, but 1,000 headers held as Python objects


def test_refusals_are_logged_once_per_interval_with_their_count() -> None:
    limiter = RefusalLog(interval=10)
    assert limiter.note(Refusal.SHED_IDLE, 100.0) == 1
    assert [limiter.note(Refusal.SHED_IDLE, 100.0 + i) for i in range(1, 5)] == [None] * 4
    assert limiter.note(Refusal.HEADER_TIMEOUT, 101.0) == 1  # each kind has its own line
    assert limiter.due(109.0) == []
    assert limiter.due(110.0) == [(Refusal.SHED_IDLE, 4)]  # a burst that stopped
    assert limiter.due(111.0) == []
    assert limiter.note(Refusal.SHED_IDLE, 115.0) is None  # the line at 110 started a quiet spell
    assert limiter.note(Refusal.SHED_IDLE, 120.0) == 2


def test_a_flood_of_refused_connections_logs_one_line(caplog: pytest.LogCaptureFixture) -> None:
    h = harness(max_connections=1)
    h.send()
    with caplog.at_level(logging.WARNING, logger="unkai.gateway"):
        for _ in range(1000):
            h.connect()
    lines = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(lines) == 1
    assert not any(r.exc_info for r in caplog.records)  # no traceback per connection
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="unkai.gateway"):
        h.loop.advance(10)
        h.state.expire(h.loop.now)
    assert [r.getMessage() for r in caplog.records] == [
        "gateway refused 999 connection(s): at_capacity"
    ]


@pytest.mark.parametrize(
    ("fd_limit", "cap"),
    [(1_048_576, 10_000), (8192, 3584), (1024, 64), (resource.RLIM_INFINITY, 10_000)],
)
def test_the_connection_cap_leaves_file_descriptors_to_the_rest(fd_limit: int, cap: int) -> None:
    assert connection_cap(fd_limit, 10_000) == cap


def test_a_well_behaved_keep_alive_client_is_not_touched() -> None:
    """The limits cost a well-behaved client nothing: a request, a response, reuse."""
    h = harness(max_connections=2, header_timeout=1)
    upstream = h.instance_ready()
    for _ in range(3):
        h.send()
        upstream.data_received(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        assert h.client.take().endswith(b"\r\n\r\nok")
        h.loop.advance(2)  # past the header timeout, but no head has started
        h.state.expire(h.loop.now)
    assert not h.client.closed
    assert HOST.encode() in h.instance.take()


def test_the_soft_file_limit_is_raised_to_the_hard_one() -> None:
    """In a process of its own (a file limit is the whole process's)."""

    def low_soft_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 4096))

    script = (
        "import resource; from unkai.platform.gateway.limits import raise_fd_limit; "
        "print(raise_fd_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True, text=True, check=True, timeout=60, preexec_fn=low_soft_limit,
    )  # fmt: skip
    assert result.stdout.split() == ["4096", "4096"]
