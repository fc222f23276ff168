"""HTTP/2 streams to HTTP/1.1 revisions: each becomes an HTTP/1.1 request to the instance.

On Knative a client may speak HTTP/2 cleartext to the ingress (Envoy) whatever the
container speaks, and a container whose port is not named ``h2c`` gets HTTP/1.1. Here
such a stream is served by the HTTP/1.1 path itself: an :class:`~.exchange.Exchange`
(routing done, then admission, holding while cold, first-byte and idle limits, the
instance connection pool, statistics: all as for an HTTP/1.1 client) whose client is
a :class:`TranslatedStream` instead of a connection. The stream gives it:

* the head as HTTP/1.1 (:func:`~.headers.request_head`, so it gets the same proxy
  headers): ``:authority`` as ``Host``, ``:path`` as the target, ``cookie`` fields
  joined with ``; `` (RFC 9113 §8.2.3); a body without ``content-length`` is sent
  chunked;
* the body as it comes; the client's window reopens as the body goes on, so a slow
  instance slows the client as it would over HTTP/1.1;

and parses what the exchange writes back (its response, or one the gateway answers
itself, 404/503/504) into the stream's HEADERS and DATA, hop-by-hop headers dropped.
Request trailers have no HTTP/1.1 form without a chunked body's trailer section,
which instances rarely read: they are dropped (Envoy does the same by default).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final, Protocol

from h2.errors import ErrorCodes
from httptools import HttpParserError, HttpResponseParser

from unkai.platform.gateway import responses
from unkai.platform.gateway.activator import RevisionThrottle
from unkai.platform.gateway.exchange import Exchange
from unkai.platform.gateway.headers import (
    ClientAddress,
    Headers,
    RequestRejectedError,
    request_head,
)
from unkai.platform.gateway.ports import Ending, PauseReason
from unkai.platform.gateway.state import GatewayState
from unkai.platform.gateway.websocket import Tunnel

WINDOW: Final = 64 * 1024
"""Response bytes queued for the client's window before the instance's connection
stops being read (and request bytes held before the client's window stays shut)."""
_HOP_BY_HOP: Final = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"}
)


class Session(Protocol):
    """What a translated stream needs of its client's HTTP/2 connection (``h2c.H2Session``)."""

    state: GatewayState
    client: ClientAddress
    loop: asyncio.AbstractEventLoop

    def send_headers(self, stream_id: int, headers: Headers, *, end: bool = False) -> None: ...

    def send_data(self, stream_id: int, data: bytes, acknowledge: Callable[[int], None]) -> None:
        """Queue data; ``acknowledge(n)`` runs as its bytes are sent."""

    def end(self, stream_id: int, trailers: Headers | None = None) -> None: ...

    def reset(self, stream_id: int, code: int = ErrorCodes.CANCEL) -> None: ...

    def acknowledge(self, stream_id: int, count: int) -> None:
        """Reopen the client's window on the stream by ``count`` bytes."""

    def forget(self, stream_id: int) -> None:
        """The stream is over: the connection goes idle when it was the last."""


class TranslatedStream:
    """One HTTP/2 stream served as an HTTP/1.1 exchange: the exchange's client side."""

    __slots__ = (
        "_head",
        "_held",
        "_parser",
        "_queued",
        "_response_done",
        "exchange",
        "paused",
        "session",
        "stream_id",
        "transport",
        "tunnel",
        "writing_paused",
    )

    def __init__(self, session: Session, stream_id: int) -> None:
        self.session = session
        self.stream_id = stream_id
        self.transport = _ResponseReader(self)
        self.tunnel: Tunnel | None = None  # a stream is never spliced to an instance's connection
        self.paused: set[PauseReason] = set()
        self.writing_paused = False
        self.exchange: Exchange | None = None
        self._parser = HttpResponseParser(self)
        self._head: Headers = []  # the response head being parsed
        self._response_done = False
        self._queued = 0  # response bytes waiting for the client's window
        self._held = 0  # request bytes received and not yet acknowledged (paused)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self.session.loop

    def start(
        self, throttle: RevisionThrottle, headers: Headers, host: bytes, *, ended: bool
    ) -> None:
        """Build the HTTP/1.1 request from the stream's header block and send it in."""
        method = path = b""
        fields: Headers = [(b"host", host)]
        cookies: list[bytes] = []
        has_length = False
        for name, value in headers:
            if name.startswith(b":"):
                if name == b":method":
                    method = value
                elif name == b":path":
                    path = value
            elif name == b"cookie":
                cookies.append(value)
            elif name != b"host":
                has_length = has_length or name == b"content-length"
                fields.append((name, value))
        if cookies:
            fields.append((b"cookie", b"; ".join(cookies)))
        if not ended and not has_length:
            fields.append((b"transfer-encoding", b"chunked"))
        try:
            head, _, chunked = request_head(
                method, path, fields, client=self.session.client, upgrade=False
            )
        except RequestRejectedError as rejected:
            self.write(responses.local(rejected.status, rejected.reason.encode(), close=False))
            return
        self.exchange = exchange = Exchange(
            self, self.session.state, throttle, head, host, chunked, True, False, method, False
        )
        exchange.start()  # the request's end comes as its own event, even with the head

    # the client's side (h2c.H2Session)

    def request_data(self, data: bytes, flow: int) -> None:
        exchange = self.exchange
        if exchange is None or not data:  # (an empty chunk would end a chunked body)
            self.session.acknowledge(self.stream_id, flow)
            return
        exchange.request_body(data)
        exchange.flush_request()
        if exchange.upstream is None and exchange.request_size > WINDOW:
            self.pause_reading("buffer")
        if self.paused:
            self._held += flow
        else:
            self.session.acknowledge(self.stream_id, flow)

    def request_end(self, trailers: Headers | None) -> None:
        """The request is complete; its trailers, if any, are dropped (see above)."""
        exchange = self.exchange
        if exchange is not None and not exchange.request_done:
            exchange.request_complete()
            exchange.flush_request()

    def client_reset(self, code: int = ErrorCodes.CANCEL) -> None:
        """The client reset the stream or its connection is gone."""
        exchange, self.exchange = self.exchange, None
        self._response_done = True
        if exchange is not None:
            exchange.abort()
        self.session.forget(self.stream_id)

    # the exchange's side (ports.ClientSide)

    def write(self, data: bytes) -> None:
        if self._response_done:
            return
        try:
            self._parser.feed_data(data)
        except HttpParserError:  # the gateway's own rebuilding went wrong: not the client's
            self.close(ErrorCodes.INTERNAL_ERROR)

    def pause_reading(self, reason: PauseReason) -> None:
        self.paused.add(reason)

    def resume_reading(self, *reasons: PauseReason) -> None:
        self.paused.difference_update(reasons)
        if not self.paused and self._held:
            held, self._held = self._held, 0
            self.session.acknowledge(self.stream_id, held)

    def exchange_done(self, exchange: Ending, now: float) -> None:
        """The exchange is over both ways: so is the stream."""
        self.exchange = None
        if not self._response_done:  # ended without a whole response: cut
            self.close(ErrorCodes.INTERNAL_ERROR)
        self.session.forget(self.stream_id)

    def close(self, code: int = ErrorCodes.CANCEL) -> None:
        """The exchange cut its response (the instance failed, or went quiet past the
        idle limit): the stream is reset, as an HTTP/1.1 client's connection closes."""
        if not self._response_done:
            self._response_done = True
            self.session.reset(self.stream_id, code)

    # the response, parsed (httptools callbacks)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        head: Headers = [(b":status", b"%d" % status)]
        head += [field for field in self._head if field[0] not in _HOP_BY_HOP]
        self._head = []
        exchange = self.exchange
        bodiless = exchange is not None and exchange.head_request and status >= 200
        self.session.send_headers(self.stream_id, head, end=bodiless)
        if bodiless:  # the length is the resource's: no body follows
            self._response_done = True

    def on_body(self, body: bytes) -> None:
        self._queued += len(body)
        self.session.send_data(self.stream_id, body, self._sent)
        if self._queued > WINDOW and not self.writing_paused:
            self.writing_paused = True
            self._upstream_reading(pause=True)

    def on_message_complete(self) -> None:
        if self._parser.get_status_code() >= 200:
            self._response_done = True
            self.session.end(self.stream_id)

    # helpers

    def _sent(self, count: int) -> None:
        self._queued -= count
        if self.writing_paused and self._queued <= WINDOW:
            self.writing_paused = False
            self._upstream_reading(pause=False)

    def _upstream_reading(self, *, pause: bool) -> None:
        exchange = self.exchange
        upstream = None if exchange is None else exchange.upstream
        if upstream is not None and upstream.transport is not None:
            if pause:
                upstream.transport.pause_reading()
            else:
                upstream.transport.resume_reading()


class _ResponseReader(asyncio.Transport):
    """What the exchange takes for its client's transport: writes are the HTTP/1.1
    response, to parse; closing it cuts the stream."""

    __slots__ = ("_stream",)

    def __init__(self, stream: TranslatedStream) -> None:
        super().__init__()
        self._stream = stream

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._stream.write(bytes(data))

    def is_closing(self) -> bool:
        return self._stream.exchange is None

    def close(self) -> None:
        self._stream.close()
