"""The gateway on a thread and event loop of its own, apart from the control plane.

``unkai up`` runs the API server, the store and the controllers on its main event
loop. With the gateway on that loop too, anything long there stalls every request in
flight: issue 12 saw a listing of 17.7 MB of ConfigMaps hold gateway requests for
914 ms. On a thread of its own the gateway's loop keeps running while the main loop
is busy; the two share the GIL, which the interpreter hands over every few
milliseconds (``sys.getswitchinterval()``), so a long piece of Python on the main loop
slows the gateway instead of stopping it. Why a thread and not a process: measured in
docs/gateway.md ("Its own thread").

What crosses between the two loops, and how:

* **setters** (routes, revisions, endpoints, forgetting): run on the gateway's loop
  while the caller waits, so each takes effect for the next request as with
  :class:`~.server.Gateway` (a hand-over costs the caller tens of microseconds: these
  come with deploys and scaling, not with requests);
* **reads** (:attr:`port`, :meth:`programmed`, :meth:`in_flight`, :meth:`stats`, the
  Prometheus collectors): plain reads of values the gateway replaces or bumps whole;
* :meth:`drained`: awaited on the gateway's loop, its end on the caller's;
* **the autoscaler's meters**: each request's start and end is logged with its time on
  the gateway's thread (a ``deque`` append) and replayed into the autoscaler's meter
  on the caller's loop every :data:`METER_FLUSH` seconds and before every cold poke,
  so the autoscaler's counters are only ever touched by its own loop;
* **cold pokes** go to the caller's loop at once; a **local app** answers on the
  caller's loop (``claims`` is a read), unless it says it answers on any
  (``any_loop``): broker ingress does, and crosses to the caller's loop itself once
  per commit of its store instead of twice per event.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Final, TypeVar

from prometheus_client import CollectorRegistry

from unkai.platform.contracts import RevisionKey, RoutingTable
from unkai.platform.gateway.metrics import RequestMeter
from unkai.platform.gateway.ports import LocalApp, LocalResponse
from unkai.platform.gateway.server import Gateway
from unkai.platform.gateway.settings import Endpoint, GatewayConfig, RevisionSettings

log = logging.getLogger("unkai.gateway")

METER_FLUSH: Final = 0.05
"""Seconds between replays of the request log into the autoscaler's meters: far under
its 2 s tick, and 20 wake-ups a second of the main loop at most."""

T = TypeVar("T")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop (the request path is written for it), else asyncio's, saying so."""
    try:
        import uvloop
    except ImportError as error:
        log.warning("uvloop cannot be imported (%s): the gateway runs on asyncio's loop", error)
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class ThreadedGateway(Gateway):
    """A :class:`~.server.Gateway` whose connections, timers and request path run on a
    thread of its own; call it from the platform's loop as a plain ``Gateway``."""

    def __init__(
        self,
        config: GatewayConfig | None = None,
        *,
        registry: CollectorRegistry | None = None,
        on_cold_request: Callable[[RevisionKey], None] | None = None,
        meter: Callable[[RevisionKey], RequestMeter] | None = None,
        local_app: LocalApp | None = None,
    ) -> None:
        self._requests = RequestLog(meter) if meter is not None else None
        self._poke = on_cold_request
        self._caller: asyncio.AbstractEventLoop | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._flusher: asyncio.Task[None] | None = None
        super().__init__(
            config,
            registry=registry,
            on_cold_request=self._cold if on_cold_request is not None else None,
            meter=self._requests.relay if self._requests is not None else None,
            local_app=self._across(local_app),
        )

    def _across(self, app: LocalApp | None) -> LocalApp | None:
        """The local app as the gateway's thread calls it."""
        if app is None or getattr(app, "any_loop", False):
            return app
        return CallerApp(app, self._caller_loop)

    # lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 8080, *, serve: bool = True) -> None:
        self._caller = asyncio.get_running_loop()
        await self.on_loop(super().start(host, port, serve=serve))
        if self._requests is not None:
            self._flusher = asyncio.create_task(self._flush_meters())

    async def serve(self) -> None:
        await self.on_loop(super().serve())

    async def stop(self, grace: float = 10.0) -> None:
        if self._loop is None:
            return
        await self.on_loop(super().stop(grace))
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        if self._requests is not None:
            self._requests.replay()
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        loop.call_soon_threadsafe(loop.stop)
        assert thread is not None
        await asyncio.to_thread(thread.join)
        loop.close()

    # setters: on the gateway's loop, the caller waiting

    def set_route(self, namespace: str, table: RoutingTable) -> None:
        self._call(super().set_route, namespace, table)

    def set_routes(self, routes: Iterable[tuple[str, RoutingTable]]) -> None:
        self._call(super().set_routes, list(routes))

    def remove_route(self, host: str) -> None:
        self._call(super().remove_route, host)

    def configure_revision(self, key: RevisionKey, settings: RevisionSettings) -> None:
        self._call(super().configure_revision, key, settings)

    def set_endpoints(self, key: RevisionKey, endpoints: Sequence[Endpoint]) -> None:
        self._call(super().set_endpoints, key, list(endpoints))

    def forget_revision(self, key: RevisionKey) -> None:
        self._call(super().forget_revision, key)

    async def drained(self, key: RevisionKey, endpoint: Endpoint) -> None:
        await self.on_loop(super().drained(key, endpoint))

    # crossing

    def serving_loop(self) -> asyncio.AbstractEventLoop:
        """The loop requests are served on (in-process callers start theirs there)."""
        return self._gateway_loop()

    def _gateway_loop(self) -> asyncio.AbstractEventLoop:
        """The gateway's loop, its thread started on first use."""
        if self._loop is None:
            loop = self._loop = new_event_loop()
            # A daemon: a platform that fails while starting (its API port taken, say)
            # never calls stop, and must still exit.
            self._thread = threading.Thread(
                target=loop.run_forever, name="unkai-gateway", daemon=True
            )
            self._thread.start()
        return self._loop

    def _call(self, function: Callable[..., T], *args: object) -> T:
        """``function(*args)`` on the gateway's loop; its result or exception here."""
        loop = self._gateway_loop()
        if self._thread is threading.current_thread():
            return function(*args)
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(function(*args))
            except BaseException as error:  # handed to the caller, who raises it
                done.set_exception(error)

        loop.call_soon_threadsafe(run)
        return done.result()

    async def on_loop(self, work: Awaitable[T]) -> T:
        """Await ``work`` on the gateway's loop, from the caller's."""

        async def run() -> T:
            return await work

        future = asyncio.run_coroutine_threadsafe(run(), self._gateway_loop())
        return await asyncio.wrap_future(future)

    def _caller_loop(self) -> asyncio.AbstractEventLoop:
        assert self._caller is not None, "the gateway serves only once started"
        return self._caller

    def _cold(self, key: RevisionKey) -> None:
        """On the gateway's thread: poke the autoscaler on its own loop, the requests
        logged so far replayed first (the poke reads the meter)."""
        self._caller_loop().call_soon_threadsafe(self._poke_now, key)

    def _poke_now(self, key: RevisionKey) -> None:
        if self._requests is not None:
            self._requests.replay()
        assert self._poke is not None
        self._poke(key)

    async def _flush_meters(self) -> None:
        assert self._requests is not None
        while True:
            await asyncio.sleep(METER_FLUSH)
            self._requests.replay()


class RequestLog:
    """Request starts and ends, logged on the gateway's thread and replayed on the
    autoscaler's loop, each into the meter the autoscaler gives for its revision."""

    def __init__(self, meter: Callable[[RevisionKey], RequestMeter]) -> None:
        self._meter = meter
        self._events: deque[tuple[MeterRelay, bool, float]] = deque()

    def relay(self, key: RevisionKey) -> MeterRelay:
        """The gateway's meter for ``key`` (asked once per revision, on its thread)."""
        return MeterRelay(key, self._events.append)

    def replay(self) -> None:
        """Feed what was logged, in order, to the autoscaler's meters (on its loop)."""
        events = self._events
        while events:
            relay, started, now = events.popleft()
            meter = relay.target
            if meter is None:
                meter = relay.target = self._meter(relay.key)
            if started:
                meter.started(now)
            else:
                meter.finished(now)


class MeterRelay:
    """A revision's :class:`~.metrics.RequestMeter` on the gateway's side: two appends
    to the log per request, cheaper than the autoscaler's meter it stands for."""

    __slots__ = ("_log", "key", "target")

    def __init__(
        self, key: RevisionKey, log: Callable[[tuple[MeterRelay, bool, float]], None]
    ) -> None:
        self.key = key
        self.target: RequestMeter | None = None  # the autoscaler's, once replayed into
        self._log = log

    def started(self, now: float) -> None:
        self._log((self, True, now))

    def finished(self, now: float) -> None:
        self._log((self, False, now))


class CallerApp:
    """The platform's local app (broker ingress) as the gateway's thread sees it: its
    ``handle`` runs on the loop that owns the broker."""

    def __init__(self, app: LocalApp, loop: Callable[[], asyncio.AbstractEventLoop]) -> None:
        self._app = app
        self._loop = loop

    @property
    def max_body(self) -> int:
        return self._app.max_body

    def claims(self, host: bytes, path: bytes) -> bool:
        return self._app.claims(host, path)

    async def handle(
        self, method: bytes, path: bytes, headers: Sequence[tuple[bytes, bytes]], body: bytes
    ) -> LocalResponse:
        answer = self._app.handle(method, path, headers, body)
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(answer, self._loop()))
