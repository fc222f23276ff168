"""Instances as the gateway reaches them, and their pools of keep-alive connections.

A :class:`Backend` is one endpoint of a revision (an instance, as the gateway sees
it): its load (requests in flight, what the breaker balances on), its idle
connections (reused last-in first-out, so the warm ones stay warm and the rest age
out), and whether it drains. An :class:`UpstreamConnection` carries one exchange at a
time: it parses the response with httptools and hands head, body and end to the
exchange (a :class:`~.ports.ResponseSink`), which writes them to the client in one
batch per read.
"""

from __future__ import annotations

import asyncio
from typing import cast

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from unkai.platform.gateway.headers import Body, Headers, passes_unchanged
from unkai.platform.gateway.ports import ResponseSink
from unkai.platform.gateway.settings import Endpoint, GatewayConfig


class Backend:
    """One endpoint of a revision: load, idle connections and drain state."""

    __slots__ = ("_drained", "config", "draining", "endpoint", "idle", "in_flight")

    def __init__(self, endpoint: Endpoint, config: GatewayConfig) -> None:
        self.endpoint = endpoint
        self.config = config
        self.in_flight = 0
        self.idle: list[UpstreamConnection] = []
        self.draining = False
        self._drained: asyncio.Event | None = None

    def take(self, now: float) -> UpstreamConnection | None:
        """An idle connection young enough to trust at ``now`` (``time.monotonic()``),
        or ``None`` (then :meth:`connect`)."""
        idle = self.idle
        while idle:
            connection = idle.pop()
            if now - connection.idle_since < self.config.upstream_idle_timeout:
                return connection
            connection.close()
        return None

    def give_back(self, connection: UpstreamConnection, now: float) -> None:
        """Pool a connection whose last exchange ended cleanly at ``now``; close it when
        draining."""
        if self.draining or len(self.idle) >= self.config.max_idle_per_instance:
            connection.close()
            return
        connection.exchange = None
        connection.idle_since = now
        self.idle.append(connection)

    async def connect(self) -> UpstreamConnection:
        """A new connection (raises ``OSError`` or ``TimeoutError`` when refused)."""
        loop = asyncio.get_running_loop()
        endpoint = self.endpoint
        async with asyncio.timeout(self.config.connect_timeout):
            if endpoint.path is not None:
                _, connection = await loop.create_unix_connection(
                    lambda: UpstreamConnection(self), endpoint.path
                )
            else:
                _, connection = await loop.create_connection(
                    lambda: UpstreamConnection(self), endpoint.host, endpoint.port
                )
        return connection

    def drain(self) -> None:
        """Take no new requests; close idle connections, let in-flight ones finish."""
        self.draining = True
        while self.idle:
            self.idle.pop().close()
        self._check_drained()

    def undrain(self) -> None:
        self.draining = False

    def released(self) -> None:
        """One request less in flight on a draining instance (the revision counted)."""
        self._check_drained()

    async def drained(self) -> None:
        """Return once the instance drains and has nothing in flight."""
        if self.draining and self.in_flight == 0:
            return
        if self._drained is None:
            self._drained = asyncio.Event()
        await self._drained.wait()

    def _check_drained(self) -> None:
        if self.in_flight == 0 and self._drained is not None:
            self._drained.set()


class UpstreamConnection(asyncio.Protocol):
    """A connection to an instance, carrying one exchange at a time."""

    __slots__ = (
        "_body",
        "_done",
        "_end",
        "_headers",
        "_passing",
        "_passing_parser",
        "_reason",
        "backend",
        "exchange",
        "idle_since",
        "parser",
        "reused",
        "transport",
    )

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.transport: asyncio.Transport | None = None
        self.exchange: ResponseSink | None = None
        self.parser: HttpResponseParser | None = None
        self.idle_since = 0.0
        self.reused = False
        self._headers: Headers = []
        self._reason = b""
        self._body = Body.NONE
        self._done = False
        self._end = _End()
        self._passing = False  # the response under way goes out unchanged
        self._passing_parser: HttpResponseParser | None = None  # for such responses

    def bind(self, exchange: ResponseSink) -> None:
        """Carry ``exchange`` next. Its response gets a parser, chosen when its first
        bytes show how to carry it: a new one to rebuild the head (a response to HEAD
        leaves the old one waiting for a body that never comes), or for a response
        passed on unchanged the connection's own, kept across such responses (never
        HEAD's, and each one ended before its connection was pooled again)."""
        self.reused = self.idle_since > 0
        self.exchange = exchange
        self.parser = None
        self._done = False

    def close(self) -> None:
        self.exchange = None
        if self.transport is not None:
            self.transport.close()

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        exchange = self.exchange
        if exchange is None:  # nothing was asked: the instance is confused
            self.close()
            return
        if exchange.tunnel is not None:
            exchange.tunnel.from_instance(data)
            return
        parser = self.parser
        if parser is None:  # a response begins: pass it on as is, or rebuild its head
            if exchange.may_pass_unchanged and passes_unchanged(data):
                self._passing = True
                self._body = Body.LENGTH
                self._end.done = False
                parser = self._passing_parser
                if parser is None:
                    parser = self._passing_parser = HttpResponseParser(self._end)
            else:
                self._passing = False
                parser = HttpResponseParser(self)
            self.parser = parser
        try:
            parser.feed_data(data)
        except HttpParserUpgrade as upgrade:
            exchange.flush_response()
            exchange.switch_protocols(data[upgrade.args[0] :])
            return
        except HttpParserError:
            self.exchange = None
            self.close()
            exchange.instance_failed("invalid response from the instance")
            return
        if self._passing:
            exchange.response_passed(data, parser.get_status_code(), done=self._end.done)
            return
        if self._done:  # ends the response and flushes it in one write
            self._done = False
            exchange.response_complete(reusable=self._body is not Body.UNTIL_CLOSE)
        else:
            exchange.flush_response()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self in self.backend.idle:
            self.backend.idle.remove(self)
        exchange, self.exchange = self.exchange, None
        if exchange is None:
            return
        if exchange.tunnel is not None:
            exchange.tunnel.closed()
        elif exchange.response_started and self._body is Body.UNTIL_CLOSE:
            exchange.response_complete(reusable=False)
        else:
            exchange.instance_failed("the instance closed the connection", retry=self.reused)

    def pause_writing(self) -> None:
        if self.exchange is not None:
            self.exchange.pause_request()

    def resume_writing(self) -> None:
        if self.exchange is not None:
            self.exchange.resume_request()

    # httptools callbacks

    def on_status(self, reason: bytes) -> None:
        self._reason = reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        assert self.exchange is not None
        assert self.parser is not None
        status = self.parser.get_status_code()
        self._body = self.exchange.response_head(status, self._reason, self._headers)
        self._headers = []
        if status >= 200 and self._body is Body.NONE:
            self._done = True

    def on_body(self, body: bytes) -> None:
        assert self.exchange is not None
        self.exchange.response_body(body)

    def on_message_complete(self) -> None:
        assert self.parser is not None
        if self.parser.get_status_code() >= 200:
            self._done = True


class _End:
    """Parser callbacks for a response passed on byte for byte: only its end matters."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = False

    def on_message_complete(self) -> None:
        self.done = True
