"""HTTP/1.1 requests to ``h2c`` revisions: each becomes an HTTP/2 stream to the instance.

On Knative the ingress (Envoy) speaks HTTP/2 to a container whose port is named
``h2c`` whatever its client speaks, so ``curl`` without ``--http2`` gets an answer.
Here an HTTP/1.1 :class:`~.exchange.Exchange` to such a revision is admitted, held,
timed and answered exactly as any other; only its instance connection differs: an
:class:`H2Bridge` stands where an :class:`~.upstream.UpstreamConnection` stands. The
exchange writes the request to it as HTTP/1.1 bytes (the head it rebuilt, with the
proxy headers, and the body as it came), the bridge parses them again and sends:

* the head as an HTTP/2 header block: names lower-cased, hop-by-hop headers
  (``Connection`` and the ones it names, ``Keep-Alive``, ``Transfer-Encoding``,
  ``Upgrade``, ``HTTP2-Settings``; ``TE`` unless it is ``trailers``) dropped, ``Host``
  as ``:authority``, the target as ``:path``;
* the body as DATA frames, de-chunked, within the instance's flow-control window
  (reading from the client pauses while a window's worth waits);

and hands the response back as the instance connection's parser would: the head
(``:status`` as the status line; without ``content-length`` the exchange chunks the
body for an HTTP/1.1 client), the body, the end. Response trailers (gRPC's
``grpc-status``) are dropped: HTTP/1.1 carries trailers only in a chunked body to a
client that sent ``TE: trailers``, and Envoy drops them on an HTTP/1.1 downstream by
default (``http_protocol_options.enable_trailers`` is off), so Knative does too.

A bridge is an HTTP/2 connection to the instance that goes back to the instance's
connection pool when its exchange ended cleanly, so a keep-alive client's requests
reuse one connection, as on the HTTP/1.1 path; it carries one stream at a time, so
it never meets the instance's stream limit. HTTP/2 clients, which gRPC clients are,
keep multiplexing over one upstream connection per client connection (:mod:`.h2c`).
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Final

from h2.exceptions import H2Error
from httptools import HttpParserError, HttpParserUpgrade, HttpRequestParser

from unkai.platform.gateway.h2upstream import H2Upstream, Replay
from unkai.platform.gateway.headers import Headers
from unkai.platform.gateway.ports import ResponseSink
from unkai.platform.gateway.upstream import Backend, UpstreamConnection

WINDOW: Final = 64 * 1024
"""Request bytes that may wait for the instance's window before reading from the
client pauses: HTTP/2's default initial window, as the HTTP/2 relay holds."""
_DROPPED: Final = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"transfer-encoding",
        b"upgrade",
        b"http2-settings",
        b"host",
    }
)


def asks_for_h2c(headers: Headers) -> bool:
    """Whether an upgrade request asks for HTTP/2 (``Upgrade: h2c``, RFC 7540 §3.2).

    The gateway does not take it up, as Envoy does not: the request goes to the
    instance without its upgrade headers (``Upgrade``, ``Connection`` and the
    ``HTTP2-Settings`` it names) and is answered over HTTP/1.1, which RFC 9113 §3.1
    allows; the connection closes after the response (the client may not send more on
    it before it knows whether the upgrade happened). A body goes on with it, as
    Envoy forwards it (:meth:`.ClientConnection.on_headers_complete`). HTTP/2 is had
    with prior knowledge (:mod:`.h2c`)."""
    for name, value in headers:
        if name.lower() == b"upgrade":
            return value.strip().lower() == b"h2c"
    return False


def body_framing(headers: Headers) -> bytes | None:
    """The header lines that frame a request's body (``Transfer-Encoding``,
    ``Content-Length``), or ``None`` when it has none: what a parser needs to read the
    body of an upgrade request the gateway did not take up (httptools ends such a
    request at its head, taking what follows for the new protocol)."""
    lines = [
        b"%s: %s\r\n" % (name, value)
        for name, value in headers
        if name.lower() in (b"transfer-encoding", b"content-length")
    ]
    return b"".join(lines) or None


class H2Bridge(UpstreamConnection):
    """An HTTP/2 connection to an ``h2c`` instance that carries HTTP/1.1 exchanges, one
    at a time, each as one stream.

    It is an :class:`~.upstream.UpstreamConnection` to the exchange and to the
    instance's pool (``bind``, ``transport.write``, ``close``; pooled again when an
    exchange ended cleanly, so a keep-alive client's requests reuse one HTTP/2
    connection, as they reuse an HTTP/1.1 one) and a :class:`~.h2upstream.Relayed`
    stream to its :class:`~.h2upstream.H2Upstream`.
    """

    __slots__ = (
        "_acks_held",
        "_closed",
        "_early",
        "_head",
        "_replay",
        "_request_ended",
        "_request_parser",
        "_sid",
        "_unsent",
        "_url",
        "h2",
        "paused",
    )
    # one exchange's, set afresh for each (_fresh)
    paused: bool  # the client reads slower than the instance writes
    _request_parser: HttpRequestParser
    _url: bytes
    _head: Headers
    _early: list[bytes]  # body parsed before the stream was open
    _request_ended: bool
    _sid: int
    _unsent: int  # request bytes queued for the instance's window
    _acks_held: int  # response bytes not yet acknowledged (client paused)
    _replay: Replay  # the body as sent, to send again if the instance refuses it

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self.transport = _RequestWriter(self)
        self.h2 = self._connect()
        self._closed = False
        self._fresh()

    def bind(self, exchange: ResponseSink) -> None:
        """Carry ``exchange`` next (on a new connection if the instance closed this
        one while it was pooled); its stream opens once its head is in."""
        super().bind(exchange)
        if self.h2.broken:
            self.h2 = self._connect()
        self._fresh()

    def close(self) -> None:
        """Closed for good (stale, draining, or the exchange was cut): the connection
        closes, which cancels an unfinished request on the instance."""
        if not self._closed:
            self._closed = True
            self.exchange = None
            self.h2.close()

    # the request, as the exchange writes it

    def request_bytes(self, data: bytes) -> None:
        try:
            self._request_parser.feed_data(data)
        except HttpParserUpgrade:
            self.on_message_complete()  # an upgrade (WebSocket) has no HTTP/2 form here
        except HttpParserError as error:  # the exchange wrote it: a bug, not the client's
            self.upstream_failed(f"the request could not be translated: {error}", None)

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        authority = b""
        fields: Headers = []
        for name, value in self._head:
            if name in _DROPPED:
                if name == b"host":
                    authority = value
            elif name != b"te" or value.strip().lower() == b"trailers":
                fields.append((name, value))
        method = self._request_parser.get_method()
        self._head = [
            (b":method", method),
            (b":scheme", b"http"),
            (b":authority", authority),
            (b":path", self._url),
            *fields,
        ]
        self.h2.place(self)

    def on_body(self, body: bytes) -> None:
        if self._sid:
            self._send(body)
        else:
            self._early.append(body)

    def on_message_complete(self) -> None:
        if self._request_ended:
            return
        self._request_ended = True
        if self._sid:
            self.h2.end(self._sid)

    # the stream, as the instance's HTTP/2 connection drives it (h2upstream.Relayed)

    def opened(self, upstream: H2Upstream) -> None:
        if self._closed:
            return
        end = self._request_ended and not self._early
        try:
            self._sid = upstream.open_stream(self, self._head, end=end)
        except H2Error as error:
            self.upstream_failed(f"the instance took no stream: {error}", None)
            return
        early, self._early = self._early, []
        for chunk in early:
            self._send(chunk)
        if self._request_ended and not end:
            upstream.end(self._sid)

    def response_head(self, headers: Headers, *, end: bool) -> None:
        self._replay.stop()
        exchange = self.exchange
        if exchange is None:
            return
        status = 0
        fields: Headers = []
        for name, value in headers:
            if name == b":status":
                status = int(value)
            elif not name.startswith(b":"):
                fields.append((name, value))
        try:
            reason = HTTPStatus(status).phrase.encode()
        except ValueError:
            reason = b"Unknown"
        exchange.response_head(status, reason, fields)
        if end:
            self.response_end(None)

    def response_data(self, data: bytes, flow: int) -> None:
        exchange = self.exchange
        if exchange is not None:
            exchange.response_body(data)
        if self.paused:
            self._acks_held += flow
        else:
            self.h2.acknowledge(self._sid, flow)

    def response_end(self, trailers: Headers | None) -> None:
        """The response is complete; its trailers, if any, are dropped (see above)."""
        exchange = self.exchange
        if exchange is not None:
            exchange.response_complete(reusable=not self._closed)

    def upstream_failed(self, reason: str, code: int | None) -> None:
        exchange = self.exchange
        self.close()
        if exchange is not None:
            exchange.instance_failed(reason)

    def refused(self) -> None:
        """Not acted on by the instance (its GOAWAY): sent again on a new connection,
        unless more than a window of body had gone (then 502)."""
        replay = self._replay.take()
        if replay is None or self._closed:
            self.upstream_failed("the instance went away before it took the request", None)
            return
        self._early = [*replay, *self._early]
        self._sid = self._unsent = 0
        self.h2 = self._connect()
        self.h2.place(self)

    # helpers

    def _connect(self) -> H2Upstream:
        upstream = H2Upstream(self.backend.endpoint)
        upstream.after_read = self._read_done
        upstream.open(self.backend.config.connect_timeout)
        return upstream

    def _read_done(self) -> None:
        """What one read from the instance gave (a head, data) goes to the client in one
        write, not one per frame: a gRPC response's head, message and trailers often
        come in one read."""
        exchange = self.exchange
        if exchange is not None:
            exchange.flush_response()

    def _fresh(self) -> None:
        """The next exchange's request starts from nothing."""
        self.paused = self._request_ended = False
        self._request_parser = HttpRequestParser(self)
        self._url = b""
        self._head = []
        self._early = []
        self._replay = Replay()
        self._sid = self._unsent = self._acks_held = 0

    # flow control

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        held, self._acks_held = self._acks_held, 0
        if held and self._sid:
            self.h2.acknowledge(self._sid, held)

    def _send(self, data: bytes) -> None:
        self._replay.keep(data)
        self._unsent += len(data)
        self.h2.send_data(self._sid, data, self._sent)
        if self._unsent > WINDOW and self.exchange is not None:
            self.exchange.pause_request()

    def _sent(self, count: int) -> None:
        before = self._unsent
        self._unsent -= count
        if before > WINDOW >= self._unsent and self.exchange is not None:
            self.exchange.resume_request()


class _RequestWriter(asyncio.Transport):
    """What the exchange takes for the instance connection's transport: writes are
    the HTTP/1.1 request, read pauses are the response's flow control."""

    __slots__ = ("_bridge",)

    def __init__(self, bridge: H2Bridge) -> None:
        super().__init__()
        self._bridge = bridge

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._bridge.request_bytes(bytes(data))

    def pause_reading(self) -> None:
        self._bridge.pause()

    def resume_reading(self) -> None:
        self._bridge.resume()

    def is_closing(self) -> bool:
        return self._bridge.h2.broken

    def close(self) -> None:
        self._bridge.close()
