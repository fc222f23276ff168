"""Protocol strictness where clients meet the gateway (issue 13, item 6), on fakes.

RFC 9112 §3.2: an HTTP/1.1 request without ``Host`` gets 400. §3.2.2: an
absolute-form request target is routed by its URI's host, the ``Host`` header is
ignored and replaced with it, and the instance gets the target in origin form.
"""

import pytest
from tests.gateway.fakes import HOST, Harness

from unkai.platform.gateway.headers import absolute_form
from unkai.platform.gateway.limits import Refusal

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


def test_an_http11_request_without_host_gets_400() -> None:
    h = Harness()
    h.instance_ready()
    h.connection.data_received(b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n")
    answer = h.client.take()
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"HTTP/1.1 request without a Host header" in answer
    assert h.client.closed
    assert h.instance.take() == b""  # nothing reached the instance
    assert h.state.refusals.counts[Refusal.BAD_REQUEST] == 1


def test_an_http10_request_without_host_is_not_refused_but_finds_no_route() -> None:
    h = Harness()
    h.connection.data_received(b"GET / HTTP/1.0\r\n\r\n")
    answer = h.client.take()
    assert answer.startswith(b"HTTP/1.1 404 ")
    assert b"The request has no Host header." in answer


def test_an_absolute_form_target_is_routed_by_its_host_and_sent_in_origin_form() -> None:
    h = Harness()
    upstream = h.instance_ready()
    h.connection.data_received(
        f"GET http://{HOST}:8080/path?q=1 HTTP/1.1\r\nHost: elsewhere.example\r\n\r\n".encode()
    )
    sent = h.instance.take()
    assert sent.startswith(b"GET /path?q=1 HTTP/1.1\r\n")
    assert f"\r\nHost: {HOST}:8080\r\n".encode() in sent
    assert b"elsewhere.example" not in sent
    upstream.data_received(OK)
    assert h.client.take().startswith(b"HTTP/1.1 200 ")


def test_an_absolute_form_target_without_host_header_is_routed_and_gains_one() -> None:
    h = Harness()
    h.instance_ready()
    h.connection.data_received(f"GET http://{HOST} HTTP/1.1\r\n\r\n".encode())
    sent = h.instance.take()
    assert sent.startswith(b"GET / HTTP/1.1\r\n")
    assert f"\r\nhost: {HOST}\r\n".encode() in sent


def test_an_absolute_form_target_for_an_unknown_host_gets_its_404() -> None:
    h = Harness()
    h.connection.data_received(
        f"GET http://nope.default.localhost/ HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
    )
    answer = h.client.take()
    assert answer.startswith(b"HTTP/1.1 404 ")
    assert b"'nope.default.localhost'" in answer


@pytest.mark.parametrize(
    ("target", "authority", "origin"),
    [
        (b"http://a.b.localhost/x/y?z=1", b"a.b.localhost", b"/x/y?z=1"),
        (b"http://user:pw@a.b.localhost:81/", b"a.b.localhost:81", b"/"),
        (b"http://[::1]:8080?q", b"[::1]:8080", b"/?q"),
        (b"http://a.b.localhost#frag", b"a.b.localhost", b"/"),
    ],
)
def test_absolute_form_splits_authority_from_target(
    target: bytes, authority: bytes, origin: bytes
) -> None:
    assert absolute_form(target) == (authority, origin)
