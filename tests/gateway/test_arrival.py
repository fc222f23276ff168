"""A request reaching a full revision is refused alike over HTTP/1.1 and HTTP/2: both
arrive through one step (``RevisionThrottle.arrive``), so a stream is counted, queued
and refused as a request is (503 ``pending request queue full``, counted as an
overload)."""

from collections.abc import Callable

import h2.events
from tests.gateway.conftest import NS, RunningGateway
from tests.gateway.test_h2c import RawH2

from unkai.platform.contracts import RevisionKey


def test_a_full_queue_refuses_requests_and_streams_alike(
    start_gateway: Callable[..., RunningGateway],
) -> None:
    gw = start_gateway(max_held=0)  # a cold revision holds nothing: every arrival is refused
    http1 = gw.route("hello", {"hello-00001": 100})
    http2 = gw.route("echo", {"echo-00001": 100})
    gw.configure("echo-00001", h2c=True)
    with gw.client(http1) as client:
        response = client.get("/")
    assert (response.status_code, response.text) == (503, "pending request queue full")
    head: list[tuple[bytes, bytes]] = []
    body = b""
    with RawH2(gw.gateway.port) as client:
        stream_id = client.request(http2)
        ended = False
        while not ended:
            for event in client.events():
                if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream_id:
                    head = event.headers
                elif isinstance(event, h2.events.DataReceived):
                    body += event.data
                ended = ended or isinstance(event, h2.events.StreamEnded)
    assert (b":status", b"503") in head
    assert body == b"pending request queue full"
    for name in ("hello-00001", "echo-00001"):
        revision = gw.call(gw.gateway.stats, RevisionKey(NS, name))
        assert revision is not None
        assert (revision.overloads, revision.requests, revision.in_flight) == (1, 1, 0)
