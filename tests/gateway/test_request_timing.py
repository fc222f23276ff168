"""A request's times without sockets: bytes in at the client, out at the instance, on a
fake loop, so each limit is checked at the exact moment it passes.

The conformance tests (``test_timeouts.py``, ``test_activator.py``, ``test_metrics.py``)
check the same rules over real HTTP, without asserting how long anything took.
"""

from tests.gateway.fakes import Harness

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


def status_and_body(response: bytes) -> tuple[bytes, bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    return head.split(b" ", 2)[1], body


def test_a_held_request_gets_504_at_the_first_byte_limit() -> None:
    h = Harness()
    h.configure(timeout=0.5)
    h.send()
    assert h.throttle.stats.held == 1
    h.loop.advance(0.25)
    assert h.client.take() == b""
    h.loop.advance(0.25)
    assert status_and_body(h.client.take()) == (b"504", b"activator request timeout")
    assert (h.throttle.stats.held, h.throttle.stats.in_flight) == (0, 0)
    assert not h.client.closed  # keep-alive: the connection stays usable


def test_a_response_that_does_not_start_in_time_gets_504_and_is_cancelled() -> None:
    h = Harness()
    h.configure(timeout=5, response_start_timeout=1)
    h.instance_ready()
    h.send()
    assert h.instance.take().startswith(b"GET / HTTP/1.1\r\n")
    h.loop.advance(0.75)
    assert h.client.take() == b""
    h.loop.advance(0.25)
    assert status_and_body(h.client.take()) == (b"504", b"request timeout")
    assert h.instance.closed  # the instance sees the request cancelled
    assert not h.client.closed


def test_a_started_response_outlives_the_first_byte_limit() -> None:
    h = Harness()
    h.configure(timeout=1)
    upstream = h.instance_ready()
    h.send()
    upstream.data_received(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    h.loop.advance(10)
    upstream.data_received(b"2\r\nok\r\n0\r\n\r\n")
    assert status_and_body(h.client.take()) == (b"200", b"2\r\nok\r\n0\r\n\r\n")
    assert h.throttle.stats.codes[2] == 1


def test_held_time_counts_from_arrival_for_the_autoscaler() -> None:
    h = Harness()
    h.send()
    h.loop.advance(0.25)  # held: the revision has no instance yet
    upstream = h.instance_ready()
    assert h.instance.take().startswith(b"GET / HTTP/1.1\r\n")
    h.loop.advance(0.25)
    upstream.data_received(OK)
    assert h.client.take() == OK  # passed on byte for byte
    assert (h.meter.started_at, h.meter.finished_at) == ([1000.0], [1000.5])
    assert h.throttle.stats.in_flight == 0


def test_the_idle_limit_spares_a_response_that_keeps_writing_and_cuts_a_stalled_one() -> None:
    h = Harness()
    h.configure(timeout=5, idle_timeout=0.5)
    upstream = h.instance_ready()
    h.send()
    upstream.data_received(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    for _ in range(4):  # 1 s of writes, each within the limit of the one before
        h.loop.advance(0.25)
        upstream.data_received(b"6\r\nchunk\n\r\n")
    assert not h.client.closed
    h.loop.advance(0.25)
    assert not h.client.closed
    h.loop.advance(0.25)  # 0.5 s without a write
    assert h.client.closed  # the client sees a truncated response
    assert not h.client.take().endswith(b"0\r\n\r\n")
