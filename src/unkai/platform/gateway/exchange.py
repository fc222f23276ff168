"""One request and its response, from the client's head to the last byte back.

Life of an exchange::

    start ── no route ─────────────────────────────────────────► 404
      │  ── queue full, or no instance will come (crash loop) ──► 503
      ├─ admitted to an instance ──┐
      └─ held (activator/breaker) ─┴► connection (pooled or new) ► head + body stream up
                                                                          │
      first byte limit (timeouts.py) before the response head ──► 504    │
      response head ◄─────────────────────────────────────────────────────┘
        ├─ 101: tunnel (websocket.py) until either side closes
        └─ body streams down, idle limit after it started ──► connection closed

The exchange sees its client connection as a :class:`~.ports.ClientSide` and the
gateway as a :class:`~.state.GatewayState`; the instance connection sees it as a
:class:`~.ports.ResponseSink` and the deadline queue as a :class:`~.ports.Deadlined`.

The request body is forwarded as it arrives and the response as it comes back; bytes
wait in the gateway only while no instance connection exists yet (bounded: reading
from the client pauses) or when one side reads slower than the other writes (flow
control pauses the faster side). Writes are batched per read, so a small response
goes out in one ``send``; a response that needs no rewriting (the usual case, see
:func:`~.headers.passes_unchanged`) is passed on byte for byte.
"""

from __future__ import annotations

import asyncio
import logging

from unkai.platform.gateway import responses
from unkai.platform.gateway.activator import RevisionThrottle
from unkai.platform.gateway.h1toh2 import H2Bridge
from unkai.platform.gateway.headers import Body, Headers, response_head
from unkai.platform.gateway.ports import Cancellable, ClientSide
from unkai.platform.gateway.state import GatewayState
from unkai.platform.gateway.upstream import Backend, UpstreamConnection
from unkai.platform.gateway.websocket import Tunnel

log = logging.getLogger("unkai.gateway")
_REPLAYABLE = frozenset({b"GET", b"HEAD", b"OPTIONS", b"TRACE"})


class Exchange:
    """A request on a client connection, and where its response comes from."""

    __slots__ = (
        "_connecting",
        "backend",
        "body_seen",
        "chunk_out",
        "chunked",
        "client",
        "close",
        "deadline",
        "early",
        "finished",
        "head",
        "head_request",
        "held",
        "host",
        "http10",
        "keep_alive",
        "last_write",
        "may_pass_unchanged",
        "out",
        "replayable",
        "request_done",
        "request_out",
        "request_size",
        "response_started",
        "started",
        "state",
        "status",
        "throttle",
        "timer",
        "tunnel",
        "upgrade",
        "upstream",
    )

    def __init__(
        self,
        client: ClientSide,
        state: GatewayState,
        throttle: RevisionThrottle | None,
        head: bytes,
        host: bytes,
        chunked: bool,
        keep_alive: bool,
        http10: bool,
        method: bytes,
        upgrade: bool,
    ) -> None:
        self.client = client
        self.state = state
        self.throttle = throttle
        self.head = head
        self.host = host
        self.chunked = chunked
        self.keep_alive = keep_alive
        self.http10 = http10
        self.head_request = head_request = method == b"HEAD"
        # Safe to send again on a new connection if a pooled one broke under it (Go's
        # http.Transport rule): the instance may have acted on anything else.
        self.replayable = method in _REPLAYABLE
        self.upgrade = upgrade
        # An HTTP/1.1 keep-alive exchange can take the instance's response unchanged;
        # not once the gateway stops (:meth:`.ClientConnection.shutdown`): it says close.
        self.may_pass_unchanged = (
            keep_alive and not http10 and not upgrade and not head_request and not state.stopping
        )
        self.request_out = [head]
        self.request_size = 0
        self.request_done = self.body_seen = False
        self.held = self.response_started = self.finished = self.chunk_out = self.close = False
        self.out: list[bytes] = []
        self.status = 0
        self.started = self.last_write = self.deadline = 0.0
        self.backend: Backend | None = None
        self.upstream: UpstreamConnection | None = None
        self.timer: Cancellable | None = None
        self.tunnel: Tunnel | None = None
        self.early = b""
        self._connecting: asyncio.Task[None] | None = None

    # admission

    def start(self) -> None:
        """Route, admit and send, once the exchange is first in line on its connection."""
        throttle = self.throttle
        state = self.state
        if throttle is None:
            body = responses.not_found(
                self.host, state.router.hosts, port=state.port, domain=state.config.domain
            )
            self._respond(404, body)
            return
        backend = throttle.arrive(self, state.clock())
        if backend is not None:
            self._use(backend, self.started)

    def overloaded(self) -> None:
        self._respond(503, responses.QUEUE_FULL)

    def dispatch(self, backend: Backend) -> None:
        """The revision found room for this held request."""
        self._use(backend, self.state.clock())

    def _use(self, backend: Backend, now: float) -> None:
        self.backend = backend
        connection = backend.take(now)
        if connection is None and self.throttle is not None and self.throttle.h2c:
            connection = H2Bridge(backend)  # HTTP/1.1 to h2c, translated: docs/gateway.md
        if connection is not None:
            self._attach(connection)
        else:
            self._connecting = asyncio.ensure_future(self._connect(backend))

    async def _connect(self, backend: Backend) -> None:
        try:
            connection = await backend.connect()
        except (OSError, TimeoutError) as error:
            log.warning(
                "cannot connect to instance",
                extra={"endpoint": str(backend.endpoint), "error": str(error) or repr(error)},
            )
            if not self.finished:
                self._respond(502, b"bad gateway: cannot connect to the instance")
            return
        finally:
            self._connecting = None
        if self.finished:
            backend.give_back(connection, self.state.clock())
        else:
            self._attach(connection)

    def _attach(self, connection: UpstreamConnection) -> None:
        self.upstream = connection
        connection.bind(self)
        transport = connection.transport
        assert transport is not None
        request_out = self.request_out
        transport.write(b"".join(request_out))
        request_out.clear()
        self.request_size = 0
        client = self.client
        if client.paused:
            client.resume_reading("buffer")
        if client.writing_paused:
            transport.pause_reading()

    # request body, from the client

    def request_body(self, data: bytes) -> None:
        if self.finished:
            return  # answered already: the rest of the body is read and dropped
        self.body_seen = True
        if self.chunked:
            self.request_out += (b"%x\r\n" % len(data), data, b"\r\n")
        else:
            self.request_out.append(data)
        self.request_size += len(data)

    def request_complete(self) -> None:
        self.request_done = True
        if self.finished:
            self.client.exchange_done(self, self.state.clock())
            return
        if self.chunked:
            self.request_out.append(b"0\r\n\r\n")

    def flush_request(self) -> None:
        """Send what the last read brought, in one write (when connected)."""
        upstream = self.upstream
        if upstream is not None and self.request_out and upstream.transport is not None:
            upstream.transport.write(b"".join(self.request_out))
            self.request_out.clear()
            self.request_size = 0

    def pause_request(self) -> None:
        self.client.pause_reading("instance")

    def resume_request(self) -> None:
        self.client.resume_reading("instance")

    # response, from the instance

    def response_head(self, status: int, reason: bytes, headers: Headers) -> Body:
        """The instance's head, parsed, to rebuild for the client; how its body comes."""
        if status < 200 and status != 101:  # 100 Continue and friends pass through
            interim = response_head(
                status, reason, headers, head_request=False, http10=self.http10, close=False
            )
            self.out.append(interim[0])
            return Body.NONE
        close = (
            not self.keep_alive
            or (self.upgrade and status != 101)
            or self.state.stopping  # say so: the connection ends after this
        )
        head, body, self.close = response_head(
            status,
            reason,
            headers,
            head_request=self.head_request,
            http10=self.http10,
            close=close,
        )
        self.chunk_out = body in (Body.CHUNKED, Body.UNTIL_CLOSE) and not self.http10
        self.out.append(head)
        self._started(status)
        return body

    def response_passed(self, data: bytes, status: int, *, done: bool) -> None:
        """Bytes of a response that goes to the client unchanged
        (:func:`~.headers.passes_unchanged`): written as they are, in one write per read,
        with no copy into the batch that rebuilt responses use; ``status`` is read from
        the head once it is in; ``done``: these bytes end the response."""
        if not self.response_started:
            self._started(status)
        if self.timer is not None:
            self.last_write = self.state.clock()
        if not self.finished:
            transport = self.client.transport
            if not transport.is_closing():
                transport.write(data)
        if done:
            self._finish(reusable=self.request_done)

    def _started(self, status: int) -> None:
        self.response_started = True
        self.status = status
        throttle = self.throttle
        if throttle is not None:
            if self.deadline:
                throttle.deadlines.done(self)
            if status != 101 and throttle.idle_timeout > 0:
                limit = throttle.idle_timeout
                self.last_write = self.state.clock()
                self.timer = self.client.loop.call_later(limit, _idle_check, self, limit)

    def response_body(self, data: bytes) -> None:
        if self.chunk_out:
            self.out += (b"%x\r\n" % len(data), data, b"\r\n")
        else:
            self.out.append(data)
        if self.timer is not None:
            self.last_write = self.state.clock()

    def flush_response(self) -> None:
        out = self.out
        if out and not self.finished:
            transport = self.client.transport
            if not transport.is_closing():
                transport.write(out[0] if len(out) == 1 else b"".join(out))
        out.clear()

    def response_complete(self, *, reusable: bool) -> None:
        if self.chunk_out:
            self.out.append(b"0\r\n\r\n")
        self.flush_response()
        self._finish(reusable=reusable and self.request_done)

    def switch_protocols(self, rest: bytes) -> None:
        """The instance accepted the upgrade: splice the two connections."""
        upstream = self.upstream
        assert upstream is not None
        assert upstream.transport is not None
        tunnel = Tunnel(self.client.transport, upstream.transport, self._tunnel_closed)
        self.tunnel = self.client.tunnel = tunnel
        if self.early:
            tunnel.from_client(self.early)
        if rest:
            tunnel.from_instance(rest)

    def _tunnel_closed(self) -> None:
        self.close = True
        self._finish(reusable=False)

    # endings

    def instance_failed(self, reason: str, *, retry: bool = False) -> None:
        """The instance connection broke or spoke nonsense."""
        if self.finished:
            return
        self.upstream = None
        if self.response_started:  # the client's response cannot be completed: cut it
            self.close = True
            self.client.transport.close()
            self._finish(reusable=False)
        elif (
            retry
            and self.replayable
            and self.request_done
            and not self.body_seen
            and self.backend is not None
        ):
            # A pooled connection that broke before any response: most likely the
            # instance had just closed it, and a safe request may go again.
            self.request_out = [self.head]
            self._connecting = asyncio.ensure_future(self._connect(self.backend))
        else:
            log.warning(reason, extra={"revision": str(self.throttle and self.throttle.key)})
            if self.throttle is not None:
                self.throttle.stats.upstream_failures += 1
            self._respond(502, b"bad gateway: " + reason.encode())

    def abandon(self) -> None:
        """The held request's revision was deleted, or will get no instance
        (:meth:`.RevisionThrottle.abandon`): 503, saying which."""
        throttle = self.throttle
        why = None if throttle is None else throttle.unavailable
        if throttle is not None and why is not None:
            throttle.stats.unavailable += 1
        self._respond(503, responses.REVISION_GONE if why is None else why)

    def timed_out(self, body: bytes) -> None:
        """No first byte in time: 504 (:mod:`.timeouts` decides when)."""
        if self.held and self.throttle is not None:
            self.throttle.withdraw(self)
            body = responses.ACTIVATOR_TIMEOUT
        log.debug("request timed out", extra={"revision": str(self.throttle and self.throttle.key)})
        if self.throttle is not None:
            self.throttle.stats.timeouts += 1
        self._respond(504, body)

    def idled_out(self) -> None:
        """The response stalled after it started: end it by closing the connection."""
        self.close = True
        self.client.transport.close()
        self._finish(reusable=False)

    def abort(self) -> None:
        """The client went away."""
        if self.finished:
            return
        if self.held and self.throttle is not None:
            self.throttle.withdraw(self)
        self._finish(reusable=False)

    def _respond(self, status: int, body: bytes) -> None:
        self.status = status
        self.close = not self.keep_alive or self.upgrade or self.state.stopping
        self.client.write(responses.local(status, body, close=self.close))
        self._finish(reusable=False)

    def _finish(self, *, reusable: bool) -> None:
        if self.finished:
            return
        self.finished = True
        upstream, backend, throttle = self.upstream, self.backend, self.throttle
        client = self.client
        if self.deadline and throttle is not None:
            throttle.deadlines.done(self)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.request_out.clear()  # a body that had nowhere to go: dropped, and read on
        if client.paused:
            client.resume_reading("buffer", "instance")
        now = self.state.clock()
        if upstream is not None:
            self.upstream = None
            if reusable and backend is not None:
                backend.give_back(upstream, now)
            else:
                upstream.close()
        if throttle is not None and self.started:
            if backend is not None:
                throttle.release(backend)  # after give_back: a held request reuses it
            throttle.stats.depart(now, self.started, self.status)
        if self.request_done or self.tunnel is not None:
            client.exchange_done(self, now)


def _idle_check(exchange: Exchange, limit: float) -> None:
    """The idle limit of a started response (revisions that set one). Writes only stamp
    ``last_write``; the timer, when it fires, re-arms itself for the time left, as
    Knative's does, so a response that keeps writing costs no timer per write."""
    exchange.timer = None
    if exchange.finished:
        return
    quiet = exchange.state.clock() - exchange.last_write
    if quiet < limit:
        exchange.timer = exchange.client.loop.call_later(
            limit - quiet, _idle_check, exchange, limit
        )
    else:
        exchange.idled_out()
