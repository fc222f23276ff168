"""Headers across the gateway (Knative runtime contract, TestMustHaveHeadersSet and
TestShouldHaveHeadersSet): ``Host`` kept, ``Forwarded`` (RFC 7239), ``X-Forwarded-*``,
W3C ``traceparent`` propagated or started, user headers unchanged, hop-by-hop gone.
"""

import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.gateway.conftest import RunningGateway
from tests.gateway.upstreams import Upstream

from unkai.platform.gateway.headers import (
    Body,
    ClientAddress,
    passes_unchanged,
    request_head,
    response_head,
)

TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-01$")


@pytest.fixture(params=["tcp", "unix"])
def echo(
    request: pytest.FixtureRequest,
    gw: RunningGateway,
    upstream: Callable[..., Upstream],
    unix_socket: Path,
) -> tuple[RunningGateway, str]:
    """An echo instance reached over loopback TCP, or over a Unix socket as the process
    runner's instances are: the headers must be the same either way."""
    gw.endpoints(
        "hello-00001", upstream("echo", unix=unix_socket if request.param == "unix" else None)
    )
    return gw, gw.route("hello", {"hello-00001": 100})


def seen(gw: RunningGateway, host: str, headers: list[tuple[str, str]]) -> dict[str, Any]:
    with gw.client(host) as client:
        response = client.get("/path?q=1", headers=headers)
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


def values(answer: dict[str, Any], name: str) -> list[str]:
    return [value for key, value in answer["headers"] if key == name]


def test_proxy_headers_are_set(echo: tuple[RunningGateway, str]) -> None:
    gw, host = echo
    answer = seen(gw, host, [])
    assert answer["path"] == "/path"
    assert answer["query"] == "q=1"
    assert values(answer, "host") == [host]
    assert values(answer, "forwarded") == [f"for=127.0.0.1;proto=http;host={host}"]
    assert values(answer, "x-forwarded-for") == ["127.0.0.1"]
    assert values(answer, "x-forwarded-proto") == ["http"]
    assert values(answer, "x-forwarded-host") == [host]
    [trace] = values(answer, "traceparent")
    assert TRACEPARENT.match(trace)


def test_a_new_trace_per_request(echo: tuple[RunningGateway, str]) -> None:
    gw, host = echo
    first, second = (values(seen(gw, host, []), "traceparent") for _ in range(2))
    assert first != second


def test_client_values_are_kept_or_appended_to(echo: tuple[RunningGateway, str]) -> None:
    gw, host = echo
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    answer = seen(
        gw,
        f"{host}:{gw.gateway.port}",
        [
            ("traceparent", trace),
            ("X-Forwarded-For", "203.0.113.7"),
            ("Forwarded", "for=203.0.113.7"),
            ("X-Forwarded-Proto", "https"),
        ],
    )
    assert values(answer, "traceparent") == [trace]
    assert values(answer, "x-forwarded-for") == ["203.0.113.7, 127.0.0.1"]
    assert values(answer, "forwarded") == [
        f'for=203.0.113.7, for=127.0.0.1;proto=http;host="{host}:{gw.gateway.port}"'
    ]
    assert values(answer, "x-forwarded-proto") == ["https"]


def test_user_headers_pass_unchanged(echo: tuple[RunningGateway, str]) -> None:
    gw, host = echo
    answer = seen(
        gw,
        host,
        [
            ("X-Custom", "Mixed  Case, spaced"),
            ("X-Multi", "a"),
            ("X-Multi", "b"),
            ("Cookie", "k=v"),
        ],
    )
    assert values(answer, "x-custom") == ["Mixed  Case, spaced"]
    assert values(answer, "x-multi") == ["a", "b"]
    assert values(answer, "cookie") == ["k=v"]


def test_hop_by_hop_headers_stop_at_the_gateway(echo: tuple[RunningGateway, str]) -> None:
    gw, host = echo
    with socket.create_connection(("127.0.0.1", gw.gateway.port)) as sock:
        sock.sendall(
            f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive, X-Secret\r\n"
            "X-Secret: 1\r\nKeep-Alive: timeout=5\r\nTE: gzip\r\nX-Kept: 2\r\n\r\n".encode()
        )
        response = read_response(sock)
    assert b"connection" not in response.lower().split(b"\r\n\r\n")[0].split(b"\r\n", 1)[1]
    body = response.split(b"\r\n\r\n", 1)[1].lower()
    for name in (b'"x-secret"', b'"keep-alive"', b'"te"', b'"connection"'):
        assert name not in body
    assert b'"x-kept"' in body


def test_hop_by_hop_response_headers_stop_at_the_gateway(
    echo: tuple[RunningGateway, str],
) -> None:
    gw, host = echo
    with gw.client(host) as client:
        plain, hop = client.get("/"), client.get("/?hop=1")
    assert "keep-alive" not in plain.headers
    assert "keep-alive" not in hop.headers
    assert hop.headers["x-end-to-end"] == "kept"
    assert hop.json()["name"] == plain.json()["name"] == "echo"


@pytest.mark.parametrize(
    ("head", "unchanged"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", True),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n", True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", False),  # head incomplete
        (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", False),  # until close
        (b"HTTP/1.1 100 Continue\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", False),
    ],
)
def test_which_responses_pass_unchanged(head: bytes, unchanged: bool) -> None:
    assert passes_unchanged(head) is unchanged


def read_response(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n0\r\n\r\n"):  # the echo app's body is chunked
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    return data


def test_request_head_for_an_upgrade_keeps_upgrade() -> None:
    head, host, chunked = request_head(
        b"GET",
        b"/ws",
        [(b"Host", b"h"), (b"Connection", b"Upgrade"), (b"Upgrade", b"websocket")],
        client=ClientAddress(b"::1", b'"[::1]"'),
        upgrade=True,
    )
    assert (host, chunked) == (b"h", False)
    assert b"Upgrade: websocket\r\n" in head
    assert b"connection: upgrade\r\n" in head
    assert b'forwarded: for="[::1]";proto=http;host=h\r\n' in head


@pytest.mark.parametrize(
    ("status", "headers", "http10", "body", "close", "framing"),
    [
        (200, [(b"Content-Length", b"2")], False, Body.LENGTH, False, b""),
        (200, [(b"Transfer-Encoding", b"chunked")], False, Body.CHUNKED, False, b"chunked"),
        (200, [], False, Body.UNTIL_CLOSE, False, b"chunked"),
        (200, [], True, Body.UNTIL_CLOSE, True, b""),
        (200, [(b"Content-Length", b"2")], True, Body.LENGTH, False, b"keep-alive"),
        (204, [], False, Body.NONE, False, b""),
        (
            200,
            [(b"Connection", b"close"), (b"Content-Length", b"2")],
            False,
            Body.LENGTH,
            False,
            b"",
        ),
    ],
)
def test_response_framing(
    status: int,
    headers: list[tuple[bytes, bytes]],
    http10: bool,
    body: Body,
    close: bool,
    framing: bytes,
) -> None:
    head, kind, must_close = response_head(
        status, b"OK", headers, head_request=False, http10=http10, close=False
    )
    assert (kind, must_close) == (body, close)
    assert b"Connection: close" not in head  # the instance's connection is its own
    assert framing in head


def raw_exchange(gw: RunningGateway, request: bytes) -> bytes:
    """Send ``request`` as is and read until the gateway closes the connection."""
    with socket.create_connection(("127.0.0.1", gw.gateway.port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_two_host_headers_are_a_bad_request(echo: tuple[RunningGateway, str]) -> None:
    gw, host = echo
    answer = raw_exchange(
        gw, f"GET / HTTP/1.1\r\nHost: {host}\r\nHost: other.default.localhost\r\n\r\n".encode()
    )
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert answer.endswith(b"more than one Host header")


def test_a_request_head_over_a_mebibyte_gets_431(echo: tuple[RunningGateway, str]) -> None:
    gw, host = echo
    big = b"x" * (1 << 20)
    answer = raw_exchange(gw, b"GET / HTTP/1.1\r\nHost: " + host.encode() + b"\r\nX-Big: " + big)
    assert answer.startswith(b"HTTP/1.1 431 ")
    with gw.client(host) as client:  # others are still served
        assert client.get("/").status_code == 200


@pytest.mark.parametrize("framing", ["Content-Length", "Transfer-Encoding", "Host"])
def test_connection_cannot_remove_framing_or_host(framing: str) -> None:
    headers = [
        (b"Host", b"h"),
        (b"Content-Length", b"3"),
        (b"Connection", f"keep-alive, {framing}".encode()),
    ]
    client = ClientAddress(b"1.2.3.4", b"1.2.3.4")
    head, host, _ = request_head(b"POST", b"/", headers, client=client, upgrade=False)
    assert host == b"h"
    assert b"Host: h\r\n" in head
    assert b"Content-Length: 3\r\n" in head


def test_a_body_cannot_be_smuggled_as_a_request(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    instance = upstream("echo")
    gw.endpoints("hello-00001", instance)
    host = gw.route("hello", {"hello-00001": 100})
    smuggled = f"GET /smuggled HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    attack = (
        f"POST /a HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(smuggled)}\r\n"
        "Connection: keep-alive, Content-Length\r\n\r\n"
    ).encode() + smuggled
    with socket.create_connection(("127.0.0.1", gw.gateway.port), timeout=10) as sock:
        sock.sendall(attack)
        answer = b""
        while not answer.endswith(b"0\r\n\r\n"):  # the end of the chunked echo
            chunk = sock.recv(65536)
            assert chunk, f"closed before the answer ended: {answer!r}"
            answer += chunk
    assert b'"path": "/a"' in answer
    assert f'"body": {len(smuggled)}'.encode() in answer  # the body stayed a body
    with gw.client(host) as client:  # the next request gets its own answer
        assert client.get("/victim").json()["path"] == "/victim"
    assert instance.log.served == 2


def test_proxy_headers_follow_the_host_on_one_connection() -> None:
    """A connection's proxy lines are built once per host: a request to another host on
    the same connection, or one that brings its own, gets headers of its own."""
    client = ClientAddress(b"192.0.2.1", b"192.0.2.1")
    heads = [
        request_head(b"GET", b"/", [(b"Host", host)], client=client, upgrade=False)[0]
        for host in (b"a.default.localhost", b"b.default.localhost", b"a.default.localhost")
    ]
    for head, host in zip(heads, (b"a", b"b", b"a"), strict=True):
        assert b"forwarded: for=192.0.2.1;proto=http;host=%s.default.localhost\r\n" % host in head
        assert b"x-forwarded-host: %s.default.localhost\r\n" % host in head
    own = [(b"Host", b"a.default.localhost"), (b"X-Forwarded-Host", b"example.com")]
    head, _, _ = request_head(b"GET", b"/", own, client=client, upgrade=False)
    assert b"X-Forwarded-Host: example.com\r\n" in head
    assert b"x-forwarded-host:" not in head
