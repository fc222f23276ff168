"""The client side: one asyncio ``Protocol`` per accepted connection, parsing with httptools.

Requests on a connection are answered in order. The first one in line is forwarded
while it is still being received; a pipelined request behind it is parsed and kept
(reading pauses) until its turn. Reading also pauses while a request's body has
nowhere to go yet (held, or connecting) beyond :data:`BUFFER_LIMIT`, and while the
instance connection cannot take more; the reasons are kept apart, so each clears
only its own.

A connection knows the gateway only through the :class:`~.state.GatewayState` it is
handed, and the event loop it is handed (the timers of its exchanges run on it).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from http import HTTPStatus
from typing import Final, cast

from httptools import HttpParserError, HttpParserUpgrade, HttpRequestParser

from unkai.platform.gateway import responses
from unkai.platform.gateway.activator import RevisionThrottle
from unkai.platform.gateway.exchange import Exchange
from unkai.platform.gateway.h1toh2 import asks_for_h2c, body_framing
from unkai.platform.gateway.h2c import PREFACE, H2Session
from unkai.platform.gateway.headers import (
    ClientAddress,
    Headers,
    RequestRejectedError,
    forwarded_for,
    request_head,
)
from unkai.platform.gateway.inprocess import route
from unkai.platform.gateway.limits import Refusal
from unkai.platform.gateway.local import LocalExchange
from unkai.platform.gateway.ports import Ending, PauseReason, Scheduler
from unkai.platform.gateway.state import GatewayState
from unkai.platform.gateway.websocket import Tunnel

log = logging.getLogger("unkai.gateway")

BUFFER_LIMIT: Final = 64 * 1024
MAX_HEAD_BYTES: Final = 1 << 20  # Go's http.DefaultMaxHeaderBytes, as Knative's proxies
HEADER_COST: Final = 128
"""Bytes of Python objects per header line kept while a head is unfinished (a tuple
and two ``bytes``), counted with the raw bytes against the gateway-wide bound: a head
of many tiny headers holds far more memory than its size."""


class ClientConnection(asyncio.Protocol):
    """A client's connection: parses requests, keeps them in order, flow-controls reads."""

    __slots__ = (
        "_client",
        "_head_size",
        "_headers",
        "_held",
        "_upgrade_body",
        "_url",
        "exchanges",
        "loop",
        "parser",
        "parsing",
        "paused",
        "requests",
        "state",
        "transport",
        "tunnel",
        "writing_paused",
    )

    def __init__(self, state: GatewayState, loop: Scheduler) -> None:
        self.state = state
        self.loop = loop
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set on connect
        self.parser = HttpRequestParser(self)
        self.exchanges: deque[Exchange] = deque()  # first in line is being answered
        self.parsing: Exchange | None = None
        self.tunnel: Tunnel | None = None
        self.writing_paused = False
        self.paused: set[PauseReason] = set()  # why reading is paused, if it is
        self._headers: Headers = []
        self._url = b""
        self._head_size = 0  # bytes of the head being received; -1 while a body is
        self._held = 0  # what this connection counts in connections.head_bytes
        self.requests = 0  # complete request heads received
        self._client = ClientAddress(b"unknown", b"unknown")
        self._upgrade_body: bytes | None = None  # framing of a body after Upgrade: h2c

    def write(self, data: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(data)

    def exchange_done(self, exchange: Ending, now: float) -> None:
        """The first exchange in line is over (both ways) at ``now``: the next one goes."""
        exchanges = self.exchanges
        if exchanges and exchanges[0] is exchange:
            exchanges.popleft()
        if exchange.close or self.state.stopping or self.transport.is_closing():
            self.transport.close()
            return
        if exchanges:
            exchanges[0].start()
        else:
            self.state.connections.rested(self, now)
        if self.paused and len(exchanges) <= 1:
            self.resume_reading("pipeline")

    def pause_reading(self, reason: PauseReason) -> None:
        if not self.paused and not self.transport.is_closing():
            self.transport.pause_reading()
        self.paused.add(reason)

    def resume_reading(self, *reasons: PauseReason) -> None:
        paused = self.paused
        if paused:
            paused.difference_update(reasons)
            if not paused and not self.transport.is_closing():
                self.transport.resume_reading()

    def shutdown(self) -> None:
        """The gateway stops: responses still to come get their heads rebuilt, to say
        ``Connection: close`` (the connection closes after its exchange, see
        :meth:`exchange_done`)."""
        for exchange in self.exchanges:
            exchange.may_pass_unchanged = False

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._client = forwarded_for(transport.get_extra_info("peername"))
        state = self.state
        shed = state.connections.opened(self, state.clock())
        if shed is self:
            self.write(responses.local(503, responses.AT_CAPACITY, close=True))
            self.transport.close()
        elif shed is not None:
            shed.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.tunnel is not None:
            self.tunnel.from_client(data)
            return
        state = self.state
        if self._head_size >= 0:  # a head is being received: bound it (httptools won't)
            if self._head_size == 0:
                if not self.requests and data[:3] == PREFACE[:3]:  # HTTP/2 prior knowledge
                    self._switch_to_h2(data)
                    return
                state.connections.head_started(self, state.clock())
            self._head_size += len(data)
            if self._head_size > MAX_HEAD_BYTES:
                reason = f"request head larger than {MAX_HEAD_BYTES} bytes"
                self._reject(431, reason, Refusal.HEAD_TOO_LARGE)
                return
        try:
            self.parser.feed_data(data)
        except HttpParserUpgrade as upgrade:  # bytes past the head belong to the tunnel
            rest = data[upgrade.args[0] :]
            if self._upgrade_body is not None:  # ... or are the body of a plain request
                if not self._read_body_after_upgrade(self._upgrade_body, rest):
                    return
            elif self.exchanges:
                self.exchanges[-1].early = rest
        except HttpParserError as error:
            rejected = error.__context__  # what a callback raised, if it was one
            if isinstance(rejected, RequestRejectedError):
                self._reject(rejected.status, rejected.reason, Refusal.BAD_REQUEST)
            else:
                self._reject(400, str(error), Refusal.BAD_REQUEST)
            return
        if self._head_size > 0 or self._held:
            self._hold_head()
            if self.transport.is_closing():
                return
        exchanges = self.exchanges
        if exchanges and exchanges[0].request_out:
            exchanges[0].flush_request()
        parsing = self.parsing
        if parsing is not None and parsing.upstream is None and parsing.request_size > BUFFER_LIMIT:
            self.pause_reading("buffer")

    def connection_lost(self, exc: Exception | None) -> None:
        connections = self.state.connections
        connections.closed(self)
        connections.ended(self.requests)
        connections.head_bytes -= self._held
        self._held = 0
        # The parser's callbacks refer back to this connection: a cycle, which only the
        # cyclic GC would free, with the unfinished head (up to 1 MiB) inside. Nothing
        # is parsed after this, so it goes now and the memory with it.
        del self.parser
        self._headers = []
        if self.tunnel is not None:
            self.tunnel.closed()
        exchanges, self.exchanges = self.exchanges, deque()
        for exchange in exchanges:
            exchange.abort()

    def pause_writing(self) -> None:
        self.writing_paused = True
        self._each_upstream(pause=True)

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._each_upstream(pause=False)

    # httptools callbacks

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        # The next request's URL and headers start afresh (no on_message_begin: a
        # callback less per request).
        url, headers = self._url, self._headers
        self._url, self._headers, self._head_size = b"", [], -1  # a body may follow
        self.state.connections.busy(self)
        self.requests += 1
        if self.transport.is_closing():
            return
        parser = self.parser
        method = parser.get_method()
        upgrade = parser.should_upgrade()
        http10 = parser.get_http_version() == "1.0"
        h2c = upgrade and asks_for_h2c(headers)  # not taken up: sent without, body and all
        if h2c:
            self._upgrade_body = body_framing(headers)
        head, host, chunked = request_head(
            method, url, headers, client=self._client, upgrade=upgrade and not h2c, http10=http10
        )
        exchange = Exchange(  # positional: this runs for every request
            self,
            self.state,
            self._route(host, headers),
            head,
            host,
            chunked,
            parser.should_keep_alive(),
            http10,
            method,
            upgrade,
        )
        if exchange.throttle is None and not upgrade:  # no route: broker ingress, maybe
            exchange = self._local(exchange, method, url, headers)
        self.parsing = exchange
        exchanges = self.exchanges
        exchanges.append(exchange)
        if len(exchanges) == 1:
            exchange.start()
        else:
            self.pause_reading("pipeline")

    def on_body(self, body: bytes) -> None:
        if self.parsing is not None:
            self.parsing.request_body(body)

    def on_message_complete(self) -> None:
        if self._upgrade_body is not None:  # at the head of Upgrade: h2c; its body follows
            return
        self._head_size = 0  # the next bytes begin the next request's head
        parsing, self.parsing = self.parsing, None
        if parsing is not None:
            parsing.request_complete()

    # helpers

    def _route(self, host: bytes, headers: Headers) -> RevisionThrottle | None:
        """The revision for this request (:func:`~.inprocess.route`)."""
        return route(self.state, host, headers)

    def _local(self, exchange: Exchange, method: bytes, url: bytes, headers: Headers) -> Exchange:
        """The exchange answered in-process when the platform's :class:`~.ports.LocalApp`
        claims this host and path; else ``exchange`` as it is (its 404 follows)."""
        local = self.state.local
        if local is None or not local.claims(exchange.host, url):
            return exchange
        answered = LocalExchange(
            self, self.state, None, exchange.head, exchange.host, exchange.chunked,
            exchange.keep_alive, exchange.http10, method, False,
        )  # fmt: skip
        answered.serve(local, method, url, headers)
        return answered

    def _read_body_after_upgrade(self, framing: bytes, data: bytes) -> bool:
        """Read the body of an ``Upgrade: h2c`` request that was not taken up, as Envoy
        forwards it: httptools ended the request at its head, so the bytes after it
        (``data``, and what comes next) go to a parser of their own, primed with a head
        that carries only the request's ``framing`` (``Content-Length`` or chunked), and
        its body is this request's. The connection closes after the response, so
        nothing after the body is read. ``False`` when the body is malformed (the
        connection is answered 400 and closed)."""
        self._upgrade_body = None
        self.parser = HttpRequestParser(_BodyAfterUpgrade(self))
        try:
            self.parser.feed_data(b"POST / HTTP/1.1\r\n" + framing + b"\r\n" + data)
        except HttpParserError as error:
            self._reject(400, str(error), Refusal.BAD_REQUEST)
            return False
        return True

    def _switch_to_h2(self, data: bytes) -> None:
        """The client speaks HTTP/2 (it sent the preface): an :class:`~.h2c.H2Session`
        reads this transport from now on and takes this object's place in the connection
        table: idle while no stream is open (no header timeout: HTTP/2 has its own
        framing), sent GOAWAY when the gateway stops."""
        session = H2Session(self, self.state, self._route, self._client, self._h2_lost)
        self.state.connections.replaced(self, session, self.state.clock())
        self.transport.set_protocol(session)
        session.data_received(data)

    def _h2_lost(self, streams: int, exc: Exception | None) -> None:
        """The HTTP/2 connection is gone, having carried ``streams`` requests."""
        self.requests = streams
        self.connection_lost(exc)

    def _each_upstream(self, *, pause: bool) -> None:
        if self.exchanges:
            upstream = self.exchanges[0].upstream
            if upstream is not None and upstream.transport is not None:
                if pause:
                    upstream.transport.pause_reading()
                else:
                    upstream.transport.resume_reading()

    def _hold_head(self) -> None:
        """Count what this connection's unfinished head holds in the gateway-wide total;
        refuse it (503) if it takes the total over ``max_unfinished_head_bytes``."""
        held = self._head_size + HEADER_COST * len(self._headers) if self._head_size > 0 else 0
        connections = self.state.connections
        connections.head_bytes += held - self._held
        self._held = held
        if held and connections.head_bytes > self.state.config.max_unfinished_head_bytes:
            connections.head_bytes -= held  # it is dropped: the total stays in bounds
            self._held = 0
            self._reject(503, "too many unfinished request heads", Refusal.HEAD_BUDGET)

    def _reject(self, status: int, reason: str, kind: Refusal) -> None:
        """Answer a request that cannot be served, then close: the rest of the
        connection's bytes cannot be trusted to frame the next request. Counted and
        logged by kind, a line per interval (a flood must not fill the disk)."""
        log.debug("request rejected", extra={"status": status, "error": reason})
        self.state.refusals.note(kind, self.state.clock())
        if not self.exchanges:  # otherwise the response under way is cut
            body = f"{HTTPStatus(status).phrase.lower()}: {reason}".encode()
            self.write(responses.local(status, body, close=True))
        self.transport.close()


class _BodyAfterUpgrade:
    """The callbacks of the parser that reads an ``Upgrade: h2c`` request's body
    (:meth:`ClientConnection._read_body_after_upgrade`): its body and end are the
    request's; its head, made up, is nobody's."""

    __slots__ = ("_connection",)

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection

    def on_body(self, body: bytes) -> None:
        self._connection.on_body(body)

    def on_message_complete(self) -> None:
        connection = self._connection
        if connection.parsing is not None:
            connection.on_message_complete()
            connection.pause_reading("pipeline")  # the client sends no more on it
