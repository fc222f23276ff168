"""Requests from inside the platform, served without a socket: the brokers' deliveries.

A delivery to a destination this platform serves (a Service's URL, a cluster-local
name, a Broker's address) used to leave through aiohttp, cross loopback TCP to the
gateway's own port and be parsed there again: on the main loop the client cost 200–300 µs
per delivery (docs/benchmarks.md). Here such a request is an
:class:`~.exchange.Exchange` (or a :class:`~.local.LocalExchange` for broker ingress)
whose client side is an :class:`InProcessRequest` instead of a connection, as
:class:`~.h2toh1.TranslatedStream` is for an HTTP/2 stream: routing, admission,
holding while cold (the activator's wake from zero), the breaker, first-byte and idle
limits, the instance connection pool and statistics are the ordinary path's. The
request head is built by :func:`~.headers.request_head` for a caller on loopback, so
the instance sees the ``Forwarded``/``X-Forwarded-*`` an internal caller's request had;
the response the exchange writes is parsed back into an :class:`Answer`.

:class:`InProcessClient` is the caller's side: it starts the request on the gateway's
loop and awaits the answer on its own; the hand-overs between the two loops are
batched (:class:`Mailbox`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from httptools import HttpParserError, HttpResponseParser

from unkai.platform.gateway.activator import RevisionThrottle
from unkai.platform.gateway.exchange import Exchange
from unkai.platform.gateway.headers import (
    ClientAddress,
    Headers,
    RequestRejectedError,
    request_head,
)
from unkai.platform.gateway.local import LocalExchange
from unkai.platform.gateway.ports import Ending, PauseReason
from unkai.platform.gateway.routing import TAG_HEADER, normalise_host
from unkai.platform.gateway.state import GatewayState
from unkai.platform.gateway.websocket import Tunnel

log = logging.getLogger("unkai.gateway")

LOOPBACK = ClientAddress(b"127.0.0.1", b"127.0.0.1")
"""Who the proxy headers name as the caller: the platform itself, on loopback, as when
its deliveries came in over a loopback socket."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A whole response: its status, headers (names in lower case) and body."""

    status: int
    headers: dict[str, str]
    body: bytes


def route(state: GatewayState, host: bytes, headers: Headers) -> RevisionThrottle | None:
    """The revision a request to ``host`` goes to (``None``: no route), the tag header
    honoured where the gateway is configured to. A ``Host`` value that is a served host
    as it stands (no port, lower case) needs no normalising."""
    hosts = state.router.hosts
    found = hosts.get(host) or hosts.get(normalise_host(host))
    if found is None:
        return None
    if state.config.tag_header_routing:
        for name, value in headers:
            if name.lower() == TAG_HEADER:
                tagged = found.tags.get(value.strip().lower())
                if tagged is not None:
                    return tagged
    return found.choose()


class InProcessRequest:
    """One request's client side (:class:`~.ports.ClientSide`): collects the response
    the exchange writes and hands it to ``done`` once, ``None`` when the exchange ended
    without a whole response (the instance failed mid-way, or it was cancelled)."""

    __slots__ = (
        "_body",
        "_done",
        "_fields",
        "_parser",
        "exchange",
        "loop",
        "paused",
        "transport",
        "tunnel",
        "writing_paused",
    )

    def __init__(
        self, loop: asyncio.AbstractEventLoop, done: Callable[[Answer | None], None]
    ) -> None:
        self.loop = loop
        self.transport = _Collector(self)
        self.tunnel: Tunnel | None = None  # never upgraded
        self.paused: set[PauseReason] = set()  # the whole body is in: nothing to pause
        self.writing_paused = False
        self.exchange: Exchange | None = None
        self._done: Callable[[Answer | None], None] | None = done
        self._parser = HttpResponseParser(self)
        self._fields: dict[str, str] = {}
        self._body: list[bytes] = []

    def start(
        self, state: GatewayState, method: bytes, target: bytes, headers: Headers, body: bytes
    ) -> None:
        """Send the request in: ``headers`` carry ``Host``; the body is whole."""
        fields = [*headers, (b"content-length", b"%d" % len(body))]
        try:
            head, host, chunked = request_head(
                method, target, fields, client=LOOPBACK, upgrade=False
            )
        except RequestRejectedError as rejected:
            self._settle(Answer(rejected.status, {}, rejected.reason.encode()))
            return
        throttle = route(state, host, fields)
        local = state.local
        if throttle is None and local is not None and local.claims(host, target):
            answered = LocalExchange(
                self, state, None, head, host, chunked, True, False, method, False
            )
            answered.serve(local, method, target, fields)
            exchange: Exchange = answered
        else:
            exchange = Exchange(
                self, state, throttle, head, host, chunked, True, False, method, False
            )
        self.exchange = exchange
        exchange.start()
        if body:
            exchange.request_body(body)
        exchange.request_complete()
        exchange.flush_request()

    def cancel(self) -> None:
        """The caller stopped waiting (its timeout): the exchange ends, its slot freed."""
        exchange, self.exchange = self.exchange, None
        self._done = None
        if exchange is not None:
            exchange.abort()

    # the exchange's side (ports.ClientSide)

    def write(self, data: bytes) -> None:
        if self._done is None:
            return
        try:
            self._parser.feed_data(data)
        except HttpParserError:
            self._settle(None)

    def pause_reading(self, reason: PauseReason) -> None:
        self.paused.add(reason)

    def resume_reading(self, *reasons: PauseReason) -> None:
        self.paused.difference_update(reasons)

    def exchange_done(self, exchange: Ending, now: float) -> None:
        self.exchange = None
        self._settle(None)  # nothing, if the whole response came already

    def close(self) -> None:
        """The exchange cut its response (as it closes a client's connection)."""
        self._settle(None)

    # the response, parsed (httptools callbacks)

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        previous = self._fields.get(key)
        self._fields[key] = text if previous is None else f"{previous}, {text}"

    def on_headers_complete(self) -> None:
        if self._parser.get_status_code() < 200:  # interim (100 Continue): the next follows
            self._fields = {}

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        status = self._parser.get_status_code()
        if status >= 200:
            self._settle(Answer(status, self._fields, b"".join(self._body)))

    def _settle(self, answer: Answer | None) -> None:
        done, self._done = self._done, None
        if done is not None:
            done(answer)


class _Collector(asyncio.Transport):
    """What the exchange takes for its client's transport: writes are the response."""

    __slots__ = ("_request",)

    def __init__(self, request: InProcessRequest) -> None:
        super().__init__()
        self._request = request

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._request.write(bytes(data))

    def is_closing(self) -> bool:
        return self._request.exchange is None

    def close(self) -> None:
        self._request.close()


class Mailbox:
    """Calls to run on ``loop``, posted from another thread and handed over in batches:
    one wake-up of the loop for every call posted before it ran, where
    ``call_soon_threadsafe`` per call wakes it once each. Deliveries start in bursts
    (a commit queues many events at once) and their answers come back in bursts."""

    __slots__ = ("_calls", "_woken", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._calls: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self._woken = False

    def post(self, call: Callable[..., None], *args: Any) -> None:
        self._calls.append((call, args))
        if not self._woken:  # (set back before the queue is read: nothing is left behind)
            self._woken = True
            self.loop.call_soon_threadsafe(self._run)

    def _run(self) -> None:
        self._woken = False
        calls = self._calls
        while calls:
            call, args = calls.popleft()
            try:
                call(*args)
            except Exception:  # one request's bug must not strand the others behind it
                log.exception("in-process request failed")


class InProcessClient:
    """Requests into the gateway from another loop (the platform's main one).

    ``public`` is the gateway's own door, ``internal`` the internal listener's (every
    route by every name, cluster-local ones included); both are served on ``loop``
    (the gateway's), asked for on first use since the gateway starts after its callers
    are made. Requests go over and answers come back through a :class:`Mailbox` each
    way.
    """

    def __init__(
        self,
        loop: Callable[[], asyncio.AbstractEventLoop],
        public: Callable[[], GatewayState],
        internal: Callable[[], GatewayState] | None = None,
    ) -> None:
        self._loop = loop
        self._public = public
        self._internal = internal or public
        self._there: Mailbox | None = None
        self._back: Mailbox | None = None

    async def request(
        self,
        method: bytes,
        target: bytes,
        headers: Headers,
        body: bytes,
        *,
        internal: bool,
        timeout: float,  # noqa: ASYNC109 (the caller's limit on the whole exchange)
    ) -> Answer | None:
        """The response to one request, ``None`` when there was none (cut, or no
        whole response within ``timeout`` seconds: the exchange is then abandoned)."""
        caller = asyncio.get_running_loop()
        there, back = self._there, self._back
        if there is None:
            there = self._there = Mailbox(self._loop())
        if back is None or back.loop is not caller:
            back = self._back = Mailbox(caller)
        answered: asyncio.Future[Answer | None] = caller.create_future()
        state = (self._internal if internal else self._public)()
        request = InProcessRequest(there.loop, functools.partial(back.post, _settle, answered))
        there.post(request.start, state, method, target, headers, body)
        try:
            async with asyncio.timeout(timeout):
                return await answered
        except TimeoutError:
            return None
        finally:
            # Unanswered (timed out, or the caller cancelled): end the exchange, unless
            # the gateway's loop is gone already (it then ended every exchange itself).
            if (not answered.done() or answered.cancelled()) and not there.loop.is_closed():
                there.post(request.cancel)


def _settle(future: asyncio.Future[Answer | None], answer: Answer | None) -> None:
    if not future.done():
        future.set_result(answer)
