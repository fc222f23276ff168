"""One revision's admission: place a request on an instance, or hold it until one frees.

:class:`RevisionThrottle` is the request path's state of one revision (Knative's
activator calls it ``revisionThrottler``), not the Revision resource.

A request that finds no instance with room is *held*, not failed: the Knative runtime
contract wants a request for a revision with no instances kept until one is ready,
and on the revision first chosen. Held requests wait first in, first out. The
autoscaler hears of them at once (``on_cold``, ``Autoscaler.poke``), without waiting
for a metrics scrape: of the first one held while the revision has no ready instance
(it wakes a revision at zero), and of every one held while it has some, and of those
still held when the ready instances change (requests queue beyond ready capacity:
it starts as many instances as the queue needs). Beyond the queue depth
(:meth:`~.breaker.Breaker.queue_depth`) a request is refused (503). A held request
that times out or whose client leaves is withdrawn in O(1): it is marked, and the
queue skips marked entries (and is compacted when they pile up).

Holding is a bet that an instance will come. When the data plane has given up on the
revision (CrashLoopBackOff: it stopped starting instances until the revision is
replaced), none will, so :meth:`RevisionThrottle.give_up` answers the held requests at
once, and any that arrive while no instance serves, with a 503 whose body says why,
instead of letting each wait out its timeout (up to ``timeoutSeconds``).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

from unkai.errors import TargetError
from unkai.platform.contracts import RevisionKey
from unkai.platform.gateway.breaker import Breaker
from unkai.platform.gateway.metrics import RequestMeter, RevisionStats
from unkai.platform.gateway.ports import Clock, Deadlined, Scheduler
from unkai.platform.gateway.settings import (
    Endpoint,
    GatewayConfig,
    RevisionSettings,
)
from unkai.platform.gateway.timeouts import FirstByteDeadlines
from unkai.platform.gateway.upstream import Backend

log = logging.getLogger("unkai.gateway")


class OverloadedError(TargetError):
    """The revision's queue is full."""


class UnavailableError(TargetError):
    """The revision has no instance and will start none (:meth:`RevisionThrottle.give_up`)."""


class Waiter(Protocol):
    """What the revision knows of a held request."""

    held: bool

    def dispatch(self, backend: Backend) -> None:
        """An instance has room for the request (already counted in)."""

    def abandon(self) -> None:
        """The revision is gone: nothing will ever have room for the request."""


class Arrival(Waiter, Deadlined, Protocol):
    """A request as it reaches its revision (:meth:`RevisionThrottle.arrive`): a waiter
    under a first-byte deadline, whatever protocol it came by."""

    started: float

    def overloaded(self) -> None:
        """The revision's queue is full: answer 503."""


class RevisionThrottle:
    """Per-revision state on the request path: settings, breaker, queue, counters.

    ``loop`` and ``clock`` run the revision's first-byte deadlines (:mod:`.timeouts`).
    """

    __slots__ = (
        "_on_cold",
        "backends",
        "breaker",
        "deadlines",
        "first_byte_limit",
        "h2c",
        "idle_timeout",
        "key",
        "max_held",
        "stats",
        "unavailable",
        "waiters",
    )

    def __init__(
        self,
        key: RevisionKey,
        loop: Scheduler,
        clock: Clock,
        *,
        max_held: int,
        on_cold: Callable[[RevisionKey], None],
        meter: RequestMeter | None,
    ) -> None:
        self.key = key
        self.max_held = max_held
        self.stats = RevisionStats(meter)
        self.breaker = Breaker()
        self.deadlines = FirstByteDeadlines(loop, clock)
        self.waiters: deque[Waiter] = deque()
        self.backends: dict[Endpoint, Backend] = {}  # ready and draining
        self._on_cold = on_cold
        self.unavailable: bytes | None = None
        """Why no instance will come (the body of the 503), once the data plane gave up."""
        self.configure(RevisionSettings())

    def configure(self, settings: RevisionSettings) -> None:
        self.first_byte_limit = settings.first_byte_limit
        self.idle_timeout = settings.idle_timeout
        self.h2c = settings.h2c
        self.breaker.configure(settings.container_concurrency, settings.queue_depth)
        self._dispatch()

    def admit(self, waiter: Waiter) -> Backend | None:
        """An instance for the request now, or ``None`` when it is held (then
        :meth:`Waiter.dispatch` follows); raises :class:`OverloadedError` when full and
        :class:`UnavailableError` when no instance will come."""
        backend = self.breaker.pick()
        if backend is not None:
            return backend
        if self.unavailable is not None and not self.breaker.ready:
            raise UnavailableError
        stats = self.stats
        if stats.held >= self.breaker.queue_depth(self.max_held):
            raise OverloadedError
        stats.held += 1
        waiter.held = True
        waiters = self.waiters
        waiters.append(waiter)
        if len(waiters) > 2 * stats.held + 64:
            self.waiters = deque(waiter for waiter in waiters if waiter.held)
        if self.breaker.ready:
            self._poke()
        elif stats.held == 1:
            log.info(
                "request held for a revision with no ready instance",
                extra={"revision": str(self.key), "held": stats.held},
            )
            self._poke()
        return None

    def arrive(self, request: Arrival, now: float) -> Backend | None:
        """Count ``request`` in at ``now``, admit it (:meth:`admit`) and start its
        first-byte deadline: the instance it goes to now, or ``None`` when it is held
        (:meth:`Waiter.dispatch` follows) or was answered (queue full:
        :meth:`Arrival.overloaded`; no instance will come: :meth:`Waiter.abandon`).
        One step for HTTP/1.1 exchanges and HTTP/2 streams alike."""
        request.started = now
        stats = self.stats
        stats.arrive(now)
        try:
            backend = self.admit(request)
        except OverloadedError:
            log.debug("queue full", extra={"revision": str(self.key)})
            stats.overloads += 1
            request.overloaded()
            return None
        except UnavailableError:
            request.abandon()
            return None
        self.deadlines.add(request, now + self.first_byte_limit)
        return backend

    def withdraw(self, waiter: Waiter) -> None:
        """A held request leaves the queue (timed out, or its client went away)."""
        if waiter.held:
            waiter.held = False
            self.stats.held -= 1

    def release(self, backend: Backend) -> None:
        """A request placed on ``backend`` finished: its slot goes to the next held one."""
        backend.in_flight -= 1
        if backend.draining:
            backend.released()
        if self.stats.held:
            self._dispatch()

    def set_endpoints(self, endpoints: Sequence[Endpoint], config: GatewayConfig) -> None:
        """The ready instances, in the data plane's order; held requests move on.

        An instance left out drains: no new requests, in-flight ones finish, idle
        connections close. It is forgotten (:meth:`prune`) once nothing is in flight.
        """
        ready = []
        for endpoint in dict.fromkeys(endpoints):
            backend = self.backends.get(endpoint)
            if backend is None:
                backend = self.backends[endpoint] = Backend(endpoint, config)
            backend.undrain()
            ready.append(backend)
        had_backends = bool(self.breaker.ready)
        for backend in set(self.breaker.ready) - set(ready):
            backend.drain()
        self.breaker.ready = ready
        self._dispatch()
        if not ready and self.unavailable is not None:
            self.abandon()
        elif self.stats.held and (ready or had_backends):
            if not ready:
                log.info(
                    "requests held for a revision whose last instance left",
                    extra={"revision": str(self.key), "held": self.stats.held},
                )
            self._poke()

    def give_up(self, why: bytes | None) -> None:
        """The data plane stopped starting instances of the revision (``why``: the body
        of the 503), or starts them again (``None``). While it has none ready, held
        requests and new ones are answered 503 with ``why`` at once."""
        self.unavailable = why
        if why is not None and not self.breaker.ready:
            self.abandon()

    def abandon(self) -> None:
        """The revision was deleted, or will get no instance (:meth:`give_up`): its held
        requests are answered now, rather than when their timeout (up to
        ``timeoutSeconds``) runs out."""
        waiters, self.waiters = self.waiters, deque()
        for waiter in waiters:
            if waiter.held:
                self.withdraw(waiter)
                waiter.abandon()

    def prune(self) -> None:
        """Forget drained instances with nothing in flight."""
        for endpoint, backend in list(self.backends.items()):
            if backend.draining and backend.in_flight == 0:
                del self.backends[endpoint]

    def _dispatch(self) -> None:
        """Held requests go, oldest first, while an instance has room. A dispatch only
        starts the exchange (connecting is asynchronous), so this never re-enters."""
        waiters, stats = self.waiters, self.stats
        while stats.held:
            backend = self.breaker.pick()
            if backend is None:
                return
            waiter = waiters.popleft()
            while not waiter.held:
                waiter = waiters.popleft()
            waiter.held = False
            stats.held -= 1
            waiter.dispatch(backend)

    def _poke(self) -> None:
        try:
            self._on_cold(self.key)
        except Exception:
            log.exception("on_cold_request failed", extra={"revision": str(self.key)})
