"""h2c revisions as the rest of HTTP sees them: HTTP/1.1 clients (translated to HTTP/2
streams), ``Upgrade: h2c`` (not taken up, as Envoy does), GOAWAY when the gateway
stops, and the idle timeout on a stream whose response started.

The instance is :class:`~tests.gateway.h2server.H2Server`, a bare HTTP/2 server that
reports the header block it received; clients are httpx2 and raw sockets (HTTP/1.1)
and :class:`~tests.gateway.test_h2c.RawH2` (HTTP/2), so every frame can be seen.
"""

import asyncio
import hashlib
import json
import socket
from collections.abc import Iterator

import h2.events
import httpx2
import pytest
from h2.errors import ErrorCodes
from hyperframe.frame import Frame
from tests.gateway.conftest import NS, RunningGateway, wait_for
from tests.gateway.h2server import H2Server
from tests.gateway.test_h2c import RawH2
from tests.gateway.upstreams import Upstream

from unkai.platform.contracts import RevisionKey
from unkai.platform.gateway import Endpoint


@pytest.fixture(scope="module")
def instance() -> Iterator[H2Server]:
    server = H2Server()
    yield server
    server.close()


def serve(gw: RunningGateway, instance: H2Server, **settings: float) -> str:
    """Route ``h2.default.localhost`` to ``instance`` (forgetting what earlier tests
    left held or reset there)."""
    instance.held.clear()
    instance.resets.clear()
    instance.went_away = False
    host = gw.route("h2", {"h2-00001": 100})
    gw.configure("h2-00001", h2c=True, **settings)
    endpoint = Endpoint("127.0.0.1", instance.port)
    gw.call(gw.gateway.set_endpoints, RevisionKey(NS, "h2-00001"), [endpoint])
    return host


def raw_http1(port: int, request: bytes) -> bytes:
    """Send ``request`` on a new connection; everything read until the gateway closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def read_until_ended(client: RawH2, stream_id: int, bodies: dict[int, bytes]) -> None:
    """Read ``client``'s events until ``stream_id`` ends; each ended stream's body is
    put in ``bodies``."""
    data: dict[int, bytes] = {}
    while stream_id not in bodies:
        for event in client.events():
            if isinstance(event, h2.events.DataReceived):
                data[event.stream_id] = data.get(event.stream_id, b"") + event.data
            elif isinstance(event, h2.events.StreamEnded):
                bodies[event.stream_id] = data.pop(event.stream_id, b"")


def test_an_http1_request_reaches_an_h2c_revision_as_an_http2_stream(
    gw: RunningGateway, instance: H2Server
) -> None:
    """The head is translated (pseudo-headers, lower-case names, no hop-by-hop
    headers), a chunked body of 1 MiB (sixteen windows) arrives whole, the response
    without a length comes back chunked, and the connection stays open for more,
    which reuse the gateway's HTTP/2 connection to the instance."""
    host = serve(gw, instance)
    connections = len(instance.connections)
    body = bytes(range(256)) * 4096
    headers = {
        "X-Custom": "kept",
        "Connection": "keep-alive, X-Named",
        "X-Named": "dropped",
        "TE": "gzip",
        "Keep-Alive": "timeout=5",
    }
    with gw.client(host) as client:
        chunks = (body[i : i + 50_000] for i in range(0, len(body), 50_000))
        answer = client.post("/echo?x=1", content=chunks, headers=headers)
        again = client.get("/again")
    assert answer.status_code == 200
    assert answer.headers["transfer-encoding"] == "chunked"
    seen = answer.json()
    assert seen["size"] == len(body)
    assert seen["sha256"] == hashlib.sha256(body).hexdigest()
    fields = [tuple(field) for field in seen["headers"]]
    assert fields[:4] == [
        (":method", "POST"),
        (":scheme", "http"),
        (":authority", host),
        (":path", "/echo?x=1"),
    ]
    names = {name for name, _ in fields}
    assert ("x-custom", "kept") in fields
    assert "x-forwarded-for" in names
    assert not names & {"host", "connection", "x-named", "te", "keep-alive", "transfer-encoding"}
    assert again.status_code == 200
    assert (":path", "/again") in [tuple(field) for field in again.json()["headers"]]
    assert len(instance.connections) == connections + 1
    assert gw.call(gw.gateway.stats, RevisionKey(NS, "h2-00001")).requests == 2


def test_response_trailers_do_not_reach_an_http1_client(
    gw: RunningGateway, instance: H2Server
) -> None:
    """HTTP/1.1 carries trailers only to a client that asked (``TE: trailers``), and
    Envoy drops them by default: the body ends with an empty last chunk."""
    host = serve(gw, instance)
    request = f"GET /trailers HTTP/1.1\r\nHost: {host}\r\nTE: trailers\r\nConnection: close\r\n\r\n"
    received = raw_http1(gw.gateway.port, request.encode())
    head, _, rest = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"transfer-encoding: chunked" in head.lower()
    assert rest == b"4\r\ndone\r\n0\r\n\r\n"
    assert b"grpc-status" not in received


@pytest.mark.parametrize("h2c", [True, False], ids=["h2c-revision", "http1-revision"])
def test_upgrade_h2c_is_not_taken_up_and_the_request_is_answered_over_http1(
    gw: RunningGateway, instance: H2Server, upstream: type[Upstream], h2c: bool
) -> None:
    """RFC 9113 §3.1 lets a server ignore ``Upgrade: h2c``; Envoy does (it strips the
    upgrade headers), so Knative's ingress answers over HTTP/1.1, and so does this."""
    if h2c:
        host = serve(gw, instance)
    else:
        host = gw.route("h1", {"h1-00001": 100})
        gw.endpoints("h1-00001", upstream("echo"))
    request = (
        f"GET /echo HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade, HTTP2-Settings\r\n"
        "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n"
    )
    received = raw_http1(gw.gateway.port, request.encode())
    head, _, rest = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"connection: close" in head.lower()  # the client sends no more on it
    if b"transfer-encoding: chunked" in head.lower():
        rest = rest.split(b"\r\n")[1]
    names = {name.lower() for name, _ in json.loads(rest)["headers"]}
    assert not names & {"upgrade", "http2-settings", "connection"}  # a plain request


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_upgrade_h2c_with_a_body_passes_the_body_on_over_http1(
    gw: RunningGateway, instance: H2Server, framing: str
) -> None:
    """Envoy forwards the body of an ``Upgrade: h2c`` request it does not take up; so
    does the gateway, in either framing, whether the body comes with the head or after
    it."""
    host = serve(gw, instance)
    body = b"x" * 70_000 + b"end"
    if framing == "chunked":
        length, sent = "Transfer-Encoding: chunked", b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    else:
        length, sent = f"Content-Length: {len(body)}", body
    head = (
        f"POST /echo HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade, HTTP2-Settings\r\n"
        f"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n{length}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", gw.gateway.port), timeout=10) as sock:
        sock.sendall(head + sent[:10])
        sock.sendall(sent[10:])
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    answer, _, rest = received.partition(b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert b"connection: close" in answer.lower()
    if b"transfer-encoding: chunked" in answer.lower():
        rest = rest.split(b"\r\n")[1]
    seen = json.loads(rest)
    assert (seen["size"], seen["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
    names = {name.lower() for name, _ in seen["headers"]}
    assert not names & {"upgrade", "http2-settings", "connection"}


def test_an_http1_request_with_no_response_head_in_time_is_a_504_and_cancelled(
    gw: RunningGateway, instance: H2Server
) -> None:
    host = serve(gw, instance, timeout=0.3)
    with gw.client(host) as client:
        answer = client.get("/held")
    assert answer.status_code == 504
    assert answer.content == b"request timeout"
    wait_for(lambda: gw.in_flight("h2-00001", Endpoint("127.0.0.1", instance.port)) == 0)


def test_a_stream_whose_response_goes_quiet_is_reset_after_the_idle_timeout(
    gw: RunningGateway, instance: H2Server
) -> None:
    """``idleTimeoutSeconds`` applies once the response started: the client's stream
    and the instance's are reset."""
    host = serve(gw, instance, idle_timeout=0.3)
    seen: list[h2.events.Event] = []
    with RawH2(gw.gateway.port) as client:
        stream_id = client.request(host, path="/stall")
        while not any(isinstance(event, h2.events.StreamReset) for event in seen):
            seen += client.events()
    reset = next(event for event in seen if isinstance(event, h2.events.StreamReset))
    assert reset.stream_id == stream_id
    assert reset.error_code == ErrorCodes.CANCEL
    assert any(isinstance(event, h2.events.ResponseReceived) for event in seen)
    wait_for(lambda: len(instance.resets) == 1)


def test_stopping_sends_goaway_with_the_last_stream_and_lets_it_finish(
    gw: RunningGateway, instance: H2Server
) -> None:
    host = serve(gw, instance)
    with RawH2(gw.gateway.port) as client:
        stream_id = client.request(host, path="/held")
        wait_for(lambda: len(instance.held) == 1)
        stopping = asyncio.run_coroutine_threadsafe(gw.gateway.stop(grace=10), gw.loop)
        goaway: list[h2.events.ConnectionTerminated] = []
        while not goaway:
            goaway += [e for e in client.events() if isinstance(e, h2.events.ConnectionTerminated)]
        assert goaway[0].error_code == ErrorCodes.NO_ERROR
        assert goaway[0].last_stream_id == stream_id
        assert not stopping.done()  # the stream under way holds the stop
        instance.release()
        # h2 reads nothing after a GOAWAY, so the frames that follow are read bare
        rest = b""
        while data := client.sock.recv(65536):
            rest += data
    frames = []
    while rest:
        frame, length = Frame.parse_frame_header(memoryview(rest[:9]))
        frame.parse_body(memoryview(rest[9 : 9 + length]))
        frames.append(frame)
        rest = rest[9 + length :]
    data = [frame for frame in frames if frame.type == 0x0 and frame.stream_id == stream_id]
    assert b"".join(frame.data for frame in data) == b"released"
    assert "END_STREAM" in data[-1].flags
    stopping.result(10)


def test_an_http2_stream_reaches_an_http1_revision_as_an_http1_request(
    gw: RunningGateway, upstream: type[Upstream]
) -> None:
    """As Knative's ingress does for a container whose port is not named h2c: the
    stream's head becomes an HTTP/1.1 head (``:authority`` as ``Host``, cookies
    joined), a body of unknown length (1 MiB, sixteen windows) goes chunked, and the
    response's hop-by-hop headers stay behind."""
    host = gw.route("h1", {"h1-00001": 100})
    gw.endpoints("h1-00001", upstream("echo"))
    body = bytes(range(256)) * 4096
    with httpx2.Client(base_url=gw.url, http1=False, http2=True, timeout=10) as client:
        answer = client.post(
            "/echo?hop=1",
            headers={"Host": host, "Cookie": "a=1", "X-Custom": "kept"},
            content=iter([body[: len(body) // 2], body[len(body) // 2 :]]),
        )
        again = client.get("/again", headers={"Host": host})
    assert answer.http_version == "HTTP/2"
    assert answer.status_code == 200
    seen = answer.json()
    assert seen["method"] == "POST"
    assert seen["path"] == "/echo"
    assert seen["body"] == len(body)
    fields = dict(seen["headers"])
    assert fields["host"] == host
    assert fields["x-custom"] == "kept"
    assert fields["transfer-encoding"] == "chunked"
    assert "x-forwarded-for" in fields
    assert answer.headers["x-end-to-end"] == "kept"
    assert "keep-alive" not in answer.headers
    assert again.json()["path"] == "/again"
    assert gw.call(gw.gateway.stats, RevisionKey(NS, "h1-00001")).requests == 2


def test_cookie_fields_of_an_http2_request_are_joined_for_http1(
    gw: RunningGateway, upstream: type[Upstream]
) -> None:
    """HTTP/2 may split ``cookie`` into fields (RFC 9113 §8.2.3); HTTP/1.1 has one."""
    host = gw.route("h1", {"h1-00001": 100})
    gw.endpoints("h1-00001", upstream("echo"))
    seen: list[h2.events.Event] = []
    with RawH2(gw.gateway.port) as client:
        stream_id = client.request(host, [("cookie", "a=1"), ("cookie", "b=2")])
        while not any(isinstance(event, h2.events.StreamEnded) for event in seen):
            seen += client.events()
    data = b"".join(e.data for e in seen if isinstance(e, h2.events.DataReceived))
    head = next(e for e in seen if isinstance(e, h2.events.ResponseReceived))
    assert head.stream_id == stream_id
    assert (b":status", b"200") in head.headers
    assert ["cookie", "a=1; b=2"] in json.loads(data)["headers"]


def test_a_large_response_reaches_an_http2_client_whole(
    gw: RunningGateway, upstream: type[Upstream]
) -> None:
    """8 MiB from the instance through 64 KiB windows: the instance connection is
    paused while the client's window is shut, and nothing is lost."""
    host = gw.route("h1", {"h1-00001": 100})
    gw.endpoints("h1-00001", upstream("source"))
    received = 0
    with (
        httpx2.Client(base_url=gw.url, http1=False, http2=True, timeout=10) as client,
        client.stream("GET", "/?mb=8", headers={"Host": host}) as answer,
    ):
        for chunk in answer.iter_bytes(chunk_size=1 << 20):
            received += len(chunk)
    assert answer.status_code == 200
    assert received == 8 << 20


def test_a_draining_h2c_instance_finishes_its_streams_while_new_ones_go_elsewhere(
    gw: RunningGateway, instance: H2Server
) -> None:
    """On one client connection: a stream in flight on the instance being drained
    finishes there, the next stream goes to the new instance, and the data plane's
    ``drained`` returns only after the first one ended."""
    host = serve(gw, instance)
    key, old = RevisionKey(NS, "h2-00001"), Endpoint("127.0.0.1", instance.port)
    new = H2Server()
    try:
        with RawH2(gw.gateway.port) as client:
            held = client.request(host, path="/held")
            wait_for(lambda: len(instance.held) == 1)
            gw.call(gw.gateway.set_endpoints, key, [Endpoint("127.0.0.1", new.port)])
            drained = asyncio.run_coroutine_threadsafe(gw.gateway.drained(key, old), gw.loop)
            other = client.request(host, path="/echo")
            bodies: dict[int, bytes] = {}
            read_until_ended(client, other, bodies)
            assert held not in bodies
            assert not drained.done()
            instance.release()
            read_until_ended(client, held, bodies)
            drained.result(5)
    finally:
        new.close()
    assert bodies[held] == b"released"
    assert (":path", "/echo") in [tuple(field) for field in json.loads(bodies[other])["headers"]]


def test_after_an_instance_goaway_its_streams_finish_and_the_refused_one_goes_again(
    gw: RunningGateway, instance: H2Server
) -> None:
    """The instance sends GOAWAY naming the held stream as its last: that stream still
    gets its answer on the old connection (``h2`` alone would read nothing after the
    GOAWAY), the refused one (with its body) and a new one go on a new connection, and
    the old connection closes once its last stream ended."""
    host = serve(gw, instance)
    body = b"b" * 10_000
    with RawH2(gw.gateway.port) as client:
        held = client.request(host, path="/held")
        wait_for(lambda: len(instance.held) == 1)
        old = instance.held[0][0]
        refused = client.h2.get_next_available_stream_id()
        head = [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", "/goaway"),
            (":authority", host),
        ]
        client.h2.send_headers(refused, head)
        client.h2.send_data(refused, body, end_stream=True)
        client.sock.sendall(client.h2.data_to_send())
        bodies: dict[int, bytes] = {}
        read_until_ended(client, refused, bodies)
        later = client.request(host, path="/echo")
        read_until_ended(client, later, bodies)
        assert held not in bodies
        instance.release()
        read_until_ended(client, held, bodies)
    assert bodies[held] == b"released"
    again, new = json.loads(bodies[refused]), json.loads(bodies[later])
    assert (again["size"], again["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
    assert again["connection"] == new["connection"] != instance.connections.index(old)
    wait_for(lambda: old.lost)


def test_responses_past_the_instance_window_keep_flowing_on_one_connection(
    gw: RunningGateway, instance: H2Server
) -> None:
    """Every response byte relayed reopens the instance's window, also the bytes of a
    response whose end came in the same read: 400 responses (about 100 KB, more than
    the 64 KiB connection window) on one client connection all arrive."""
    host = serve(gw, instance)
    bodies: list[bytes] = []
    with RawH2(gw.gateway.port) as client:
        for _ in range(400):
            client.request(host, path="/echo")
            body, ended = b"", False
            while not ended:
                for event in client.events():
                    if isinstance(event, h2.events.DataReceived):
                        body += event.data  # the client's own window stays open
                        client.h2.acknowledge_received_data(len(event.data), event.stream_id)
                    ended = ended or isinstance(event, h2.events.StreamEnded)
            bodies.append(body)
    assert sum(map(len, bodies)) > 65_535
    assert all(json.loads(body)["size"] == 0 for body in bodies)


def test_an_http1_request_refused_by_an_instance_goaway_goes_again(
    gw: RunningGateway, instance: H2Server
) -> None:
    host = serve(gw, instance)
    body = b"c" * 20_000
    with httpx2.Client(base_url=f"http://127.0.0.1:{gw.gateway.port}", timeout=10) as client:
        answer = client.post("/goaway", content=body, headers={"Host": host})
    assert answer.status_code == 200
    seen = answer.json()
    assert (seen["size"], seen["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
    assert instance.went_away


def test_an_http1_response_from_an_h2c_instance_that_goes_quiet_is_cut(
    gw: RunningGateway, instance: H2Server
) -> None:
    """``idleTimeoutSeconds`` after the response started, on the translated path: the
    HTTP/1.1 client's connection closes mid-body (as on the HTTP/1.1 path)."""
    host = serve(gw, instance, idle_timeout=0.3)
    with gw.client(host) as client, client.stream("GET", "/stall") as answer:
        assert answer.status_code == 200
        with pytest.raises(httpx2.RemoteProtocolError):
            answer.read()


def test_an_http2_stream_to_an_http1_revision_gets_504_without_a_response_head_in_time(
    gw: RunningGateway, upstream: type[Upstream]
) -> None:
    host = gw.route("h1", {"h1-00001": 100})
    gw.configure("h1-00001", timeout=0.3)
    gw.endpoints("h1-00001", upstream("slow"))
    with httpx2.Client(base_url=gw.url, http1=False, http2=True, timeout=10) as client:
        answer = client.get("/?delay=5", headers={"Host": host})
        again = client.get("/", headers={"Host": host})  # the connection goes on
    assert (answer.http_version, answer.status_code) == ("HTTP/2", 504)
    assert answer.content == b"request timeout"
    assert again.status_code == 200
