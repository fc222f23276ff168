"""HTTP/2 from clients (prior knowledge, as gRPC speaks it), relayed to ``h2c`` revisions.

A client connection whose first bytes are the HTTP/2 preface leaves the HTTP/1.1
parser: :class:`H2Session` takes over its transport and every stream is an
:class:`H2Exchange`, routed by ``:authority`` as a request is by ``Host``, admitted by
the revision's breaker like any request (a stream is a request: ``containerConcurrency``,
the queue while cold and the autoscaler's metrics count streams), and relayed over an
:class:`~.h2upstream.H2Upstream` to the instance: headers, data both ways with flow
control (:mod:`.h2peer`), trailers, and resets (the other side's stream is reset with
the same code, so a cancelled gRPC call is cancelled on the instance).

What the gateway answers itself, it answers as HTTP/2 responses with the status and
plain-text body the HTTP/1.1 path gives: 404 (no route), 503 (queue full, or no
instance will come), 504 (no response head within the first-byte limit), 502 (the
instance could not be reached). A stream to a revision that serves HTTP/1.1 is
served as an HTTP/1.1 request instead (:mod:`.h2toh1`), as Knative's ingress does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sized
from typing import Final

from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    Event,
    RequestReceived,
    StreamEnded,
    StreamReset,
    TrailersReceived,
    WindowUpdated,
)
from h2.exceptions import H2Error
from h2.settings import SettingCodes, Settings
from hyperframe.frame import GoAwayFrame

from unkai.platform.gateway import responses
from unkai.platform.gateway.activator import RevisionThrottle
from unkai.platform.gateway.h2peer import Peer, configuration
from unkai.platform.gateway.h2toh1 import TranslatedStream
from unkai.platform.gateway.h2upstream import H2Upstream, Replay
from unkai.platform.gateway.headers import ClientAddress, Headers
from unkai.platform.gateway.ports import Connection
from unkai.platform.gateway.state import GatewayState
from unkai.platform.gateway.upstream import Backend

log = logging.getLogger("unkai.gateway")

PREFACE: Final = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
MAX_CONCURRENT_STREAMS: Final = 250
"""Streams a client may have open at once: Go's HTTP/2 server default, as in front of
Knative's proxies."""
MAX_HEADER_LIST_SIZE: Final = 1 << 20
"""The HTTP/1.1 path's head limit (Go's ``DefaultMaxHeaderBytes``), advertised; a larger
header block ends the connection (HTTP/2 has no 431 for a block it cannot decode)."""

Route = Callable[[bytes, Headers], RevisionThrottle | None]


class H2Session(Peer):
    """A client's HTTP/2 connection: its streams and its connections to instances.

    It takes the place of ``owner``, the HTTP/1.1 connection object that read the
    preface, in the connection table: idle while no stream is open (closed by the
    keep-alive sweep), and told when the gateway stops (:meth:`shutdown`). ``done``
    tells ``owner`` the connection is lost, after how many streams.
    """

    def __init__(
        self,
        owner: Connection,
        state: GatewayState,
        route: Route,
        client: ClientAddress,
        done: Callable[[int, Exception | None], None],
    ) -> None:
        super().__init__(H2Connection(configuration(client_side=False)))
        self.state = state
        self.route = route
        self.client = client
        self.done = done
        self.streams: dict[int, H2Exchange | TranslatedStream] = {}
        self.requests = 0  # streams opened, for the requests-per-connection histogram
        self.upstreams: dict[Backend, H2Upstream] = {}
        self.owner = owner
        self.transport: asyncio.Transport = owner.transport  # closed, never unset
        self.stopping = False  # GOAWAY sent: streams under way finish, new ones are refused
        limits = {
            SettingCodes.MAX_CONCURRENT_STREAMS: MAX_CONCURRENT_STREAMS,
            SettingCodes.MAX_HEADER_LIST_SIZE: MAX_HEADER_LIST_SIZE,
        }  # in the first SETTINGS frame, in force from the start (h2 enforces both)
        self.h2.local_settings = Settings(client=False, initial_values=limits)
        self.h2.decoder.max_header_list_size = MAX_HEADER_LIST_SIZE
        self.h2.initiate_connection()
        self.write()

    def upstream(self, backend: Backend) -> H2Upstream:
        """This connection's HTTP/2 connection to ``backend``, opened on first use."""
        upstream = self.upstreams.get(backend)
        if upstream is None or upstream.broken:
            upstream = self.upstreams[backend] = H2Upstream(backend.endpoint)
            upstream.open(backend.config.connect_timeout)
        return upstream

    @property
    def exchanges(self) -> Sized:
        """The streams under way, or once none is, the data still waiting for the
        client's window: what must go before the connection may close."""
        return self.streams or self.outgoing

    def shutdown(self) -> None:
        """The gateway stops: GOAWAY (no error) names the last stream it took, so the
        client knows every later one was not acted on and may retry it elsewhere
        (RFC 9113 §6.8); the streams under way finish within the gateway's grace
        period, and the connection closes once none is left.

        The frame is written here rather than by ``h2``: ``h2`` treats a GOAWAY it
        sends as the end of the connection and refuses to send anything after it,
        not even the rest of the streams it has just promised to finish."""
        if self.stopping or self.transport.is_closing():
            return
        self.stopping = True
        self._write_now()  # what h2 has queued goes first
        last = self.h2.highest_inbound_stream_id
        self.transport.write(GoAwayFrame(stream_id=0, last_stream_id=last).serialize())
        if not self.streams and not self.outgoing:
            self.transport.close()

    def forget(self, stream_id: int) -> None:
        """The stream is over: forgotten (what it still has to send goes on), and the
        connection idle once none is left (closed once none is left after GOAWAY)."""
        self.streams.pop(stream_id, None)
        if not self.streams:
            if self.stopping:  # what waits for window still goes (the stop closes after)
                self._write_now()
                if not self.outgoing:
                    self.transport.close()
                return
            state = self.state
            state.connections.rested(self, state.clock())

    # asyncio callbacks (the transport's protocol from the preface on)

    def data_received(self, data: bytes) -> None:
        try:
            events = self.h2.receive_data(data)
        except H2Error as error:
            log.debug("HTTP/2 protocol error", extra={"error": str(error)})
            self._write_now()  # the GOAWAY h2 queued, before the close
            self.transport.close()
            return
        for event in events:
            self._event(event)
        self.write()

    def connection_lost(self, exc: Exception | None) -> None:
        self.state.connections.closed(self)
        for exchange in list(self.streams.values()):
            exchange.client_reset()
        for upstream in self.upstreams.values():
            upstream.close()
        self.upstreams.clear()
        self.done(self.requests, exc)

    # helpers

    def _event(self, event: Event) -> None:
        if isinstance(event, RequestReceived):
            self._request(event.stream_id, event.headers, ended=event.stream_ended is not None)
            return
        if isinstance(event, WindowUpdated):
            self.flush(event.stream_id or None)
            return
        if isinstance(event, ConnectionTerminated):
            self.transport.close()
            return
        stream_id = getattr(event, "stream_id", 0)
        exchange = self.streams.get(stream_id)
        if isinstance(event, DataReceived):
            if exchange is None:  # answered already: what still comes is dropped
                self.acknowledge(stream_id, event.flow_controlled_length)
            else:
                exchange.request_data(event.data, event.flow_controlled_length)
        elif exchange is None:
            return
        elif isinstance(event, TrailersReceived):
            exchange.request_end(event.headers)
        elif isinstance(event, StreamEnded):
            exchange.request_end(None)
        elif isinstance(event, StreamReset):
            exchange.client_reset(int(event.error_code or ErrorCodes.CANCEL))

    def _request(self, stream_id: int, headers: Headers, *, ended: bool) -> None:
        if self.stopping:  # opened before the client read the GOAWAY: not acted on
            self.reset(stream_id, ErrorCodes.REFUSED_STREAM)
            return
        self.state.connections.busy(self)
        self.requests += 1
        host = b""
        for name, value in headers:
            if name in (b":authority", b"host"):
                host = value
                break
        throttle = self.route(host, headers)
        if throttle is not None and not throttle.h2c:  # an HTTP/1.1 revision: translated
            translated = self.streams[stream_id] = TranslatedStream(self, stream_id)
            translated.start(throttle, headers, host, ended=ended)
            return
        exchange = self.streams[stream_id] = H2Exchange(self, stream_id, throttle, headers)
        exchange.start(host)


class H2Exchange:
    """One stream relayed from a client to an instance.

    It is a request to the revision's breaker (:class:`~.activator.Waiter`) and to its
    first-byte deadlines (:class:`~.ports.Deadlined`).
    """

    __slots__ = (
        "acked", "backend", "deadline", "early", "head_sent", "held", "last_write", "replay",
        "request_ended", "request_head", "sent", "session", "source", "started",
        "status", "stream_id", "throttle", "timer", "trailers", "upstream", "upstream_id",
    )  # fmt: skip

    def __init__(
        self,
        session: H2Session,
        stream_id: int,
        throttle: RevisionThrottle | None,
        headers: Headers,
    ) -> None:
        self.session = session
        self.stream_id = stream_id
        self.throttle = throttle
        self.request_head = [*headers, (b"x-forwarded-for", session.client.ip)]
        self.early: list[bytes] = []  # request data before the upstream stream
        self.replay = Replay()  # to send again, should the instance refuse the stream
        self.sent = self.acked = 0  # bytes the instance took (this try), the client was told
        self.request_ended = False
        self.trailers: Headers | None = None
        self.held = False
        self.deadline = 0.0
        self.started = 0.0
        self.status = 0
        self.head_sent = False
        self.backend: Backend | None = None
        self.upstream: H2Upstream | None = None  # while its stream there is open
        self.source: H2Upstream | None = None  # where the response comes from, kept
        self.upstream_id = 0
        self.last_write = 0.0
        self.timer: asyncio.TimerHandle | None = None

    def start(self, host: bytes) -> None:
        throttle, state = self.throttle, self.session.state
        if throttle is None:
            body = responses.not_found(
                host, state.router.hosts, port=state.port, domain=state.config.domain
            )
            self._respond(404, body)
            return
        backend = throttle.arrive(self, state.clock())
        if backend is not None:
            self.dispatch(backend)

    # the breaker's side (Waiter)

    def dispatch(self, backend: Backend) -> None:
        self.backend = backend
        self.session.upstream(backend).place(self)

    def overloaded(self) -> None:
        self._respond(503, responses.QUEUE_FULL)

    def abandon(self) -> None:
        throttle = self.throttle
        why = None if throttle is None else throttle.unavailable
        if throttle is not None and why is not None:
            throttle.stats.unavailable += 1
        self._respond(503, why or responses.REVISION_GONE)

    def timed_out(self, body: bytes) -> None:
        """No response head within the first-byte limit: 504, and the instance's
        stream is cancelled."""
        if self.held and self.throttle is not None:
            self.throttle.withdraw(self)
        if self.throttle is not None:
            self.throttle.stats.timeouts += 1
        self._respond(504, body)

    # the client's side

    def request_data(self, data: bytes, flow: int) -> None:
        session = self.session
        session.acknowledge(self.stream_id, flow - len(data))  # padding: nothing to pass
        if self.upstream is None:
            self.early.append(data)
        else:
            self._pass_on(self.upstream, data)

    def request_end(self, trailers: Headers | None) -> None:
        self.request_ended, self.trailers = True, trailers
        if self.upstream is not None:
            self.upstream.end(self.upstream_id, trailers)

    def client_reset(self, code: int = ErrorCodes.CANCEL) -> None:
        """The client reset the stream (or its connection is gone): so is the
        instance's stream, with the same code."""
        self.session.outgoing.pop(self.stream_id, None)
        if self.held and self.throttle is not None:
            self.throttle.withdraw(self)
        if self.upstream is not None:
            self.upstream.reset(self.upstream_id, code)
        self._finish()

    # the instance's side (h2upstream.Relayed)

    def opened(self, upstream: H2Upstream) -> None:
        if self.backend is None:
            return  # answered while the connection opened
        end = self.request_ended and not self.early and self.trailers is None
        try:
            self.upstream_id = upstream.open_stream(self, self.request_head, end=end)
        except H2Error as error:
            self.upstream_failed(f"the instance took no stream: {error}", None)
            return
        self.upstream = self.source = upstream
        for data in self.early:
            self._pass_on(upstream, data)
        self.early = []
        if self.request_ended and not end:
            upstream.end(self.upstream_id, self.trailers)

    def response_head(self, headers: Headers, *, end: bool) -> None:
        self.replay.stop()
        for name, value in headers:
            if name == b":status":
                self.status = int(value)
        if self.status >= 200:  # an interim (1xx) head passes, the deadline runs on
            self._first_byte()
            self.head_sent = True
            throttle = self.throttle
            if throttle is not None and throttle.idle_timeout > 0 and not end:
                self.last_write = self.session.state.clock()
                self._idle_after(throttle.idle_timeout, throttle.idle_timeout)
        self.session.send_headers(self.stream_id, headers, end=end)
        if end:
            self.upstream = None  # its stream is over: nothing to reset
            self._finish()

    def response_data(self, data: bytes, flow: int) -> None:
        upstream = self.upstream
        if upstream is not None:
            upstream.acknowledge(self.upstream_id, flow - len(data))
        if self.timer is not None:
            self.last_write = self.session.state.clock()
        self.session.send_data(self.stream_id, data, self._instance_sent)

    def response_end(self, trailers: Headers | None) -> None:
        self.session.end(self.stream_id, trailers)
        self.upstream = None  # its stream is over: nothing to reset
        self._finish()

    def upstream_failed(self, reason: str, code: int | None) -> None:
        log.warning(reason, extra={"revision": str(self.throttle and self.throttle.key)})
        self.upstream = None
        if self.head_sent:
            self.session.reset(self.stream_id, code or ErrorCodes.INTERNAL_ERROR)
            self._finish()
            return
        if self.throttle is not None:
            self.throttle.stats.upstream_failures += 1
        if code is not None:  # the instance refused the stream: the client's to retry
            self.session.reset(self.stream_id, code)
            self._finish()
        else:
            self._respond(502, b"bad gateway: " + reason.encode())

    def refused(self) -> None:
        """Not acted on by the instance (GOAWAY): sent again on a new connection, with
        the data it had sent; when that was more than a window, the client is told
        (``REFUSED_STREAM``) it may send it again itself."""
        self.upstream = None
        replay, backend = self.replay.take(), self.backend
        if replay is None or backend is None:
            self.upstream_failed("the instance went away first", ErrorCodes.REFUSED_STREAM)
            return
        self.early = [*replay, *self.early]
        self.sent = 0
        self.dispatch(backend)

    # helpers

    def _pass_on(self, upstream: H2Upstream, data: bytes) -> None:
        """Send request ``data`` to the instance, kept for sending again while it may be."""
        self.replay.keep(data)
        upstream.send_data(self.upstream_id, data, self._client_sent)

    def _idle_after(self, delay: float, limit: float) -> None:
        """``idleTimeoutSeconds`` once the response started, as on the HTTP/1.1 path
        (:mod:`.exchange`): a stream whose instance sends nothing for ``limit`` seconds
        is reset both ways (``CANCEL``), the HTTP/2 form of the closed connection an
        HTTP/1.1 client gets. Data only stamps ``last_write``; the timer re-arms itself
        for the time left when it fires."""
        self.timer = self.session.loop.call_later(delay, self._idle_check, limit)

    def _idle_check(self, limit: float) -> None:
        self.timer = None
        if self.session.streams.get(self.stream_id) is not self:
            return
        quiet = self.session.state.clock() - self.last_write
        if quiet < limit:
            self._idle_after(limit - quiet, limit)
            return
        if self.upstream is not None:
            self.upstream.reset(self.upstream_id)
        self.session.reset(self.stream_id)
        self._finish()

    def _client_sent(self, count: int) -> None:
        """The instance took ``count`` more bytes: the client's window reopens by what
        it was not already told (data sent again after a refusal was)."""
        self.sent += count
        if self.sent > self.acked:
            self.session.acknowledge(self.stream_id, self.sent - self.acked)
            self.acked = self.sent

    def _instance_sent(self, count: int) -> None:
        """Response data went to the client: the instance's window reopens, also after
        the stream ended (its data goes at the next write, the connection's window
        must not shrink for good)."""
        if self.source is not None:
            self.source.acknowledge(self.upstream_id, count)

    def _first_byte(self) -> None:
        if self.deadline and self.throttle is not None:
            self.throttle.deadlines.done(self)

    def _respond(self, status: int, body: bytes) -> None:
        """Answer the stream here (when no head went yet; else reset it)."""
        session = self.session
        if self.upstream is not None:
            self.upstream.reset(self.upstream_id)
            self.upstream = None
        if self.head_sent:
            session.reset(self.stream_id, ErrorCodes.CANCEL)
        else:
            self.status = status
            head = [
                (b":status", str(status).encode()),
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ]
            try:
                session.send_headers(self.stream_id, head)
            except H2Error:
                pass  # the client reset it meanwhile
            else:
                session.send_data(self.stream_id, body, lambda _: None)
                session.end(self.stream_id)
        self._finish()

    def _finish(self) -> None:
        session = self.session
        if session.streams.get(self.stream_id) is not self:
            return
        self._first_byte()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        upstream, throttle, backend = self.upstream, self.throttle, self.backend
        if upstream is not None:
            upstream.forget(self.upstream_id)
            self.upstream = None
        self.backend = None
        if throttle is not None and self.started:
            if backend is not None:
                throttle.release(backend)
            throttle.stats.depart(session.state.clock(), self.started, self.status)
        session.forget(self.stream_id)
