"""One request and its response, from the client's head to the last byte back.

Life of an exchange::

    start ── no route ─────────────────────────────────────────► 404
      │  ── queue full ────────────────────────────────────────► 503
      ├─ admitted to an instance ──┐
      └─ held (activator/breaker) ─┴► connection (pooled or new) ► head + body stream up
                                                                          │
      first byte limit (timeouts.py) before the response head ──► 504    │
      response head ◄─────────────────────────────────────────────────────┘
        ├─ 101: tunnel (websocket.py) until either side closes
        └─ body streams down, idle limit after it started ──► connection closed

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
import time
from typing import TYPE_CHECKING

from unkai.platform.gateway import responses, timeouts
from unkai.platform.gateway.activator import OverloadedError, RevisionThrottle
from unkai.platform.gateway.headers import Body, Headers, response_head
from unkai.platform.gateway.upstream import Backend, UpstreamConnection
from unkai.platform.gateway.websocket import Tunnel

if TYPE_CHECKING:
    from unkai.platform.gateway.protocol import ClientConnection

log = logging.getLogger("unkai.gateway")
_REPLAYABLE = frozenset({b"GET", b"HEAD", b"OPTIONS", b"TRACE"})


class Exchange:
    """A request on a client connection, and where its response comes from."""

    __slots__ = (
        "_connecting",
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
        "instance",
        "keep_alive",
        "last_write",
        "out",
        "passthrough",
        "replayable",
        "request_done",
        "request_out",
        "request_size",
        "response_started",
        "revision",
        "started",
        "status",
        "timer",
        "tunnel",
        "upgrade",
        "upstream",
    )

    def __init__(
        self,
        client: ClientConnection,
        revision: RevisionThrottle | None,
        head: bytes,
        host: bytes,
        chunked: bool,
        keep_alive: bool,
        http10: bool,
        method: bytes,
        upgrade: bool,
    ) -> None:
        self.client = client
        self.revision = revision
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
        # An HTTP/1.1 keep-alive exchange can take the instance's response unchanged.
        self.passthrough = keep_alive and not http10 and not upgrade and not head_request
        self.request_out = [head]
        self.request_size = 0
        self.request_done = self.body_seen = False
        self.held = self.response_started = self.finished = self.chunk_out = self.close = False
        self.out: list[bytes] = []
        self.status = 0
        self.started = self.last_write = self.deadline = 0.0
        self.instance: Backend | None = None
        self.upstream: UpstreamConnection | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.tunnel: Tunnel | None = None
        self.early = b""
        self._connecting: asyncio.Task[None] | None = None

    # admission

    def start(self) -> None:
        """Route, admit and send, once the exchange is first in line on its connection."""
        revision = self.revision
        if revision is None:
            gateway = self.client.gateway
            body = responses.not_found(
                self.host, gateway.router.hosts, port=gateway.port, domain=gateway.config.domain
            )
            self._respond(404, body)
            return
        self.started = now = time.monotonic()
        revision.stats.arrive(now)
        try:
            instance = revision.admit(self)
        except OverloadedError:
            log.debug("queue full", extra={"revision": str(revision.key)})
            self._respond(503, responses.QUEUE_FULL)
            return
        revision.deadlines.add(self, now + revision.first_byte_limit)
        if instance is not None:
            self._use(instance, now)

    def dispatch(self, instance: Backend) -> None:
        """The revision found room for this held request."""
        self._use(instance, time.monotonic())

    def _use(self, instance: Backend, now: float) -> None:
        self.instance = instance
        connection = instance.take(now)
        if connection is not None:
            self._attach(connection)
        else:
            self._connecting = asyncio.ensure_future(self._connect(instance))

    async def _connect(self, instance: Backend) -> None:
        try:
            connection = await instance.connect()
        except (OSError, TimeoutError) as error:
            log.warning(
                "cannot connect to instance",
                extra={"endpoint": str(instance.endpoint), "error": str(error) or repr(error)},
            )
            if not self.finished:
                self._respond(502, b"bad gateway: cannot connect to the instance")
            return
        finally:
            self._connecting = None
        if self.finished:
            instance.give_back(connection, time.monotonic())
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
            self.client.exchange_done(self, time.monotonic())
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
            or self.client.gateway.stopping  # say so: the connection ends after this
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
            self.last_write = time.monotonic()
        if not self.finished:
            transport = self.client.transport
            if not transport.is_closing():
                transport.write(data)
        if done:
            self._finish(reusable=self.request_done)

    def _started(self, status: int) -> None:
        self.response_started = True
        self.status = status
        revision = self.revision
        if revision is not None:
            if self.deadline:
                revision.deadlines.done(self)
            if status != 101 and revision.idle_timeout > 0:
                self.timer = timeouts.idle(self, revision.idle_timeout)

    def response_body(self, data: bytes) -> None:
        if self.chunk_out:
            self.out += (b"%x\r\n" % len(data), data, b"\r\n")
        else:
            self.out.append(data)
        if self.timer is not None:
            self.last_write = time.monotonic()

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
            and self.instance is not None
        ):
            # A pooled connection that broke before any response: most likely the
            # instance had just closed it, and a safe request may go again.
            self.request_out = [self.head]
            self._connecting = asyncio.ensure_future(self._connect(self.instance))
        else:
            log.warning(reason, extra={"revision": str(self.revision and self.revision.key)})
            self._respond(502, b"bad gateway: " + reason.encode())

    def abandon(self) -> None:
        """The held request's revision was deleted (:meth:`.RevisionThrottle.abandon`)."""
        self._respond(503, responses.REVISION_GONE)

    def timed_out(self, body: bytes) -> None:
        """No first byte in time: 504 (:mod:`.timeouts` decides when)."""
        if self.held and self.revision is not None:
            self.revision.withdraw(self)
            body = responses.ACTIVATOR_TIMEOUT
        log.debug("request timed out", extra={"revision": str(self.revision and self.revision.key)})
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
        if self.held and self.revision is not None:
            self.revision.withdraw(self)
        self._finish(reusable=False)

    def _respond(self, status: int, body: bytes) -> None:
        self.status = status
        self.close = not self.keep_alive or self.upgrade or self.client.gateway.stopping
        self.client.write(responses.local(status, body, close=self.close))
        self._finish(reusable=False)

    def _finish(self, *, reusable: bool) -> None:
        if self.finished:
            return
        self.finished = True
        upstream, instance, revision = self.upstream, self.instance, self.revision
        client = self.client
        if self.deadline and revision is not None:
            revision.deadlines.done(self)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.request_out.clear()  # a body that had nowhere to go: dropped, and read on
        if client.paused:
            client.resume_reading("buffer", "instance")
        now = time.monotonic()
        if upstream is not None:
            self.upstream = None
            if reusable and instance is not None:
                instance.give_back(upstream, now)
            else:
                upstream.close()
        if revision is not None and self.started:
            if instance is not None:
                revision.release(instance)  # after give_back: a held request reuses it
            revision.stats.depart(now, self.started, self.status)
        if self.request_done or self.tunnel is not None:
            client.exchange_done(self, now)
