"""Request and response heads as they cross the gateway.

Requests keep the client's headers byte for byte (``Host`` included) except the
hop-by-hop ones (RFC 9110 §7.6.1: ``Connection``, the headers it names,
``Keep-Alive``, ``Proxy-Connection``, ``TE`` other than ``TE: trailers``, ``Trailer``,
``Upgrade``), and gain the
proxy headers the runtime contract asks for: ``Forwarded`` (RFC 7239) and
``X-Forwarded-For`` are appended to, ``X-Forwarded-Proto`` and ``X-Forwarded-Host``
set when absent (a proxy in front of the gateway knows better), ``traceparent`` (W3C)
started when absent. ``Transfer-Encoding`` stays, because the body is forwarded with
the framing it arrived with. An upgrade request keeps ``Upgrade`` and says
``Connection: upgrade``.

Responses lose the same hop-by-hop headers and their framing is rebuilt for the
client: the gateway decides keep-alive per client connection, not per instance. A
response with nothing to rewrite for its client (:func:`passes_unchanged`) is not
rebuilt at all.
"""

from __future__ import annotations

import re
from binascii import hexlify
from enum import IntEnum
from random import getrandbits

from unkai.errors import UserError

_HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"upgrade"}
)
# In a response head, any case: a hop-by-hop header (its name captured) or framing
# that lets the head pass unchanged (nothing captured); see passes_unchanged.
_HOP_OR_FRAMING_LINE = re.compile(
    b"\n(?:(" + b"|".join(sorted(_HOP_BY_HOP)) + b"):"
    b"|content-length:|transfer-encoding: chunked\r)",
    re.IGNORECASE,
)
# The low 64 of the 192 random bits a traceparent is drawn from: its span id.
_SPAN_BITS = (1 << 64) - 1
# Appended to every request head, with what the client sent (and ", ") in front.
_FORWARDED = b"forwarded: %sfor=%s;proto=http;host=%s\r\nx-forwarded-for: %s%s\r\n"
# Connection options that are not header names, and headers a Connection value may not
# remove: framing and Host stay, or the body would reach the instance as a request of
# its own (request smuggling) and routing would change under the gateway.
_NEVER_DROPPED = frozenset(
    {b"keep-alive", b"close", b"upgrade", b"content-length", b"transfer-encoding", b"host"}
)
_REQUEST_SPECIAL = _HOP_BY_HOP | {
    b"host",
    b"forwarded",
    b"x-forwarded-for",
    b"x-forwarded-proto",
    b"x-forwarded-host",
    b"traceparent",
    b"transfer-encoding",
}
_RESPONSE_SPECIAL = _HOP_BY_HOP | {b"transfer-encoding", b"content-length"}

Headers = list[tuple[bytes, bytes]]


class RequestRejectedError(UserError):
    """A request the gateway answers itself with ``status`` (4xx), saying ``reason``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Body(IntEnum):
    """How a response body is delimited on the instance connection."""

    NONE = 0  # 1xx, 204, 304, or a response to HEAD
    LENGTH = 1
    CHUNKED = 2
    UNTIL_CLOSE = 3


class ClientAddress:
    """The client of one connection as the proxy headers name it: its
    ``X-Forwarded-For`` entry (``ip``) and ``Forwarded: for=`` node, computed once per
    connection; and, since a keep-alive connection mostly asks one host, the proxy
    header lines last built for a client that sent none of its own, kept for as long
    as the host stays the same (a request head then gains them in one piece)."""

    __slots__ = ("_host", "_lines", "ip", "node")

    def __init__(self, ip: bytes, node: bytes) -> None:
        self.ip = ip
        self.node = node
        self._host: bytes | None = None
        self._lines = b""

    def proxy_lines(self, host: bytes) -> bytes:
        """``Forwarded``, ``X-Forwarded-For``, ``-Proto`` and ``-Host`` for a request to
        ``host`` that had none of them."""
        if host != self._host:
            self._lines = _proxy_lines(self, host, b"", b"", proto=False, forwarded_host=False)
            self._host = host
        return self._lines


def forwarded_for(address: tuple[str, int] | None) -> ClientAddress:
    """The client at ``address`` (a peer name; ``None`` when unknown)."""
    if address is None:
        return ClientAddress(b"unknown", b"unknown")
    ip = address[0].encode()
    return ClientAddress(ip, b'"[' + ip + b']"' if b":" in ip else ip)


def request_head(
    method: bytes,
    url: bytes,
    headers: Headers,
    *,
    client: ClientAddress,
    upgrade: bool,
    http10: bool = False,
) -> tuple[bytes, bytes, bool]:
    """The head to send to the instance, the request's host, and whether the body is
    chunked (it is forwarded re-chunked, as it came).

    The host is the ``Host`` value, or for an absolute-form target
    (``GET http://hello.default.localhost/ HTTP/1.1``) the target's authority, which
    also replaces the ``Host`` header sent on, with the target in origin form (RFC 9112
    §3.2.2: a proxy ignores the received ``Host`` then). Raises
    :class:`RequestRejectedError` for a request that no route may see: two ``Host``
    headers, or an HTTP/1.1 request without one (RFC 9112 §3.2).

    It runs for every request, so it is built for the usual head (a few headers,
    none of them the proxy's): one pass over the headers, the proxy lines from the
    connection's :class:`ClientAddress`, one join."""
    authority = None
    if url[:1] != b"/" and b"://" in url:
        authority, url = absolute_form(url)
    lines = [method + b" " + url + b" HTTP/1.1"]  # then "name: value", one per header
    host = forwarded = forwarded_list = b""
    has_proto = has_host = has_trace = chunked = has_host_header = False
    named: list[bytes] = []
    for name, value in headers:
        lower = name.lower()
        if lower in _REQUEST_SPECIAL:
            if lower == b"host":
                if has_host_header:  # RFC 9112 §3.2: a request with two is rejected
                    raise RequestRejectedError(400, "more than one Host header")
                host, has_host_header = value, True
                if authority is not None:
                    host = value = authority
            elif lower == b"forwarded":
                forwarded += value + b", "
                continue
            elif lower == b"x-forwarded-for":
                forwarded_list += value + b", "
                continue
            elif lower == b"x-forwarded-proto":
                has_proto = True
            elif lower == b"x-forwarded-host":
                has_host = True
            elif lower == b"traceparent":
                has_trace = True
            elif lower == b"transfer-encoding":
                chunked = True
            elif (lower == b"upgrade" and upgrade) or (
                lower == b"te" and value.strip().lower() == b"trailers"
            ):
                pass  # TE: trailers goes on, as Envoy's sanitising keeps it (gRPC needs it)
            else:
                if lower == b"connection":
                    named.extend(_options(value))
                continue
        lines.append(name + b": " + value)
    if not has_host_header:
        if authority is not None:
            host = authority
            lines.append(b"host: " + host)
        elif not http10:
            raise RequestRejectedError(400, "HTTP/1.1 request without a Host header")
    if named:
        lines = _without(lines, named)
    if forwarded or forwarded_list or has_proto or has_host:
        proxy = _proxy_lines(
            client, host, forwarded, forwarded_list, proto=has_proto, forwarded_host=has_host
        )
    else:
        proxy = client.proxy_lines(host)
    trace = b"" if has_trace else _traceparent()
    tail = b"connection: upgrade\r\n\r\n" if upgrade else b"\r\n"
    return b"".join((b"\r\n".join(lines), b"\r\n", proxy, trace, tail)), host, chunked


def _proxy_lines(
    client: ClientAddress,
    host: bytes,
    forwarded: bytes,
    forwarded_list: bytes,
    *,
    proto: bool,
    forwarded_host: bool,
) -> bytes:
    """The proxy headers for a request to ``host`` whose client sent the
    ``Forwarded`` and ``X-Forwarded-For`` elements given (each with ", " after it),
    and ``X-Forwarded-Proto`` (``proto``) and ``X-Forwarded-Host`` or not."""
    quoted_host = b'"' + host + b'"' if b":" in host else host
    lines = _FORWARDED % (forwarded, client.node, quoted_host, forwarded_list, client.ip)
    if not proto:
        lines += b"x-forwarded-proto: http\r\n"
    if not forwarded_host:
        lines += b"x-forwarded-host: " + host + b"\r\n"
    return lines


def _traceparent() -> bytes:
    """A new sampled W3C ``traceparent``: trace and span ids from one draw of 192
    random bits, hex-encoded in one call (formatting the two ids as numbers costs
    three times as much), neither of them all zeros (which the spec makes invalid)."""
    bits = getrandbits(192)
    if not bits >> 64 or not bits & _SPAN_BITS:  # once in 2**64 requests: drawn again
        return _traceparent()
    return b"traceparent: 00-" + hexlify(bits.to_bytes(24), b"-", -16) + b"-01\r\n"


def absolute_form(url: bytes) -> tuple[bytes, bytes]:
    """The authority (without user info) and the origin-form target of an
    absolute-form request target: ``http://u@h:8080/p?q`` → ``h:8080``, ``/p?q``."""
    rest = url.partition(b"://")[2]
    end = len(rest)
    for delimiter in (b"/", b"?", b"#"):
        found = rest.find(delimiter)
        if 0 <= found < end:
            end = found
    authority = rest[:end].rpartition(b"@")[2]
    target = rest[end:].partition(b"#")[0]
    return authority, target if target.startswith(b"/") else b"/" + target


def response_head(
    status: int,
    reason: bytes,
    headers: Headers,
    *,
    head_request: bool,
    http10: bool,
    close: bool,
) -> tuple[bytes, Body, bool]:
    """The head to send to the client, how the instance delimits the body, and whether
    the client connection must end after this response.

    A body without a length is re-chunked for an HTTP/1.1 client; an HTTP/1.0 client
    gets it delimited by closing the connection.
    """
    lines = [b"HTTP/1.1 %d %s" % (status, reason)]  # then "name: value", one per header
    body = Body.UNTIL_CLOSE
    switching = status == 101
    named: list[bytes] = []
    for name, value in headers:
        lower = name.lower()
        if lower in _RESPONSE_SPECIAL:
            if lower == b"content-length":
                body = Body.LENGTH if body != Body.CHUNKED else body
            elif lower == b"transfer-encoding":
                body = Body.CHUNKED
                continue
            elif switching and lower in (b"upgrade", b"connection"):
                pass
            else:
                if lower == b"connection":
                    named.extend(_options(value))
                continue
        lines.append(name + b": " + value)
    if named:
        lines = _without(lines, named)
    if status < 200:  # interim, or switching protocols: no body, no framing
        lines.append(b"\r\n")
        return b"\r\n".join(lines), Body.NONE, False
    if status in (204, 304) or head_request:
        body = Body.NONE
    elif body != Body.LENGTH:
        if http10:
            close = True
        else:
            lines.append(b"transfer-encoding: chunked")
    if close:
        lines.append(b"connection: close")
    elif http10:
        lines.append(b"connection: keep-alive")
    lines.append(b"\r\n")
    return b"\r\n".join(lines), body, close


def passes_unchanged(data: bytes) -> bool:
    """Whether a response whose first bytes are ``data`` can go to an HTTP/1.1
    keep-alive client byte for byte: ``data`` holds its whole head, it is a final
    HTTP/1.1 response, no hop-by-hop header is in it, and a length or chunks delimit
    its body. Most responses qualify, and then the gateway neither parses headers in
    Python nor rebuilds the head or the chunks."""
    end = data.find(b"\r\n\r\n")
    if end < 0 or not data.startswith(b"HTTP/1.1 ") or data[9:10] == b"1":
        return False
    found = _HOP_OR_FRAMING_LINE.findall(data, 0, end + 2)  # one pass over the head, no copy
    return bool(found) and not any(found)


def _options(value: bytes) -> list[bytes]:
    """Header names listed in a ``Connection`` value that may go (see _NEVER_DROPPED)."""
    tokens = (token.strip().lower() for token in value.split(b","))
    return [token for token in tokens if token and token not in _NEVER_DROPPED]


def _without(lines: list[bytes], names: list[bytes]) -> list[bytes]:
    """``lines`` (a start line, then ``name: value`` lines) without ``names``."""
    drop = set(names)
    return lines[:1] + [line for line in lines[1:] if line.partition(b":")[0].lower() not in drop]
