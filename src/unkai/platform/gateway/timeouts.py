"""Request timers, with Knative's queue-proxy semantics.

Before the response starts, one limit runs: the revision's first-byte limit
(:attr:`~.settings.RevisionSettings.first_byte_limit`, the earliest of
``timeoutSeconds``, ``responseStartTimeoutSeconds`` and ``idleTimeoutSeconds``,
measured from arrival, held time included). When it passes the client gets 504
``request timeout`` (``activator request timeout`` while still held) and the
instance connection is closed, which cancels the request there.

Once the first byte of the response is written, a 504 can no longer be sent, and
Knative lets the response run on: ``timeoutSeconds`` no longer applies and the
response lasts as long as the instance keeps writing. Only ``idleTimeoutSeconds``
(when set) still applies: a response that writes nothing for that long is ended by
closing the client connection, so the client sees a truncated response rather than
a complete one (Knative appends "request timeout" to the body and ends it cleanly).
The idle timer is not reset per write: writes stamp ``last_write`` and the timer,
when it fires, re-arms itself for the remaining time, as Knative's does.

First-byte limits arm no timer per request: a timer handle costs microseconds to
create, cancel and free, which the request path cannot afford. Each revision keeps
its pending requests in arrival order (:class:`FirstByteDeadlines`) under one timer
set for the earliest deadline; requests whose response started leave the queue as
they do, and the timer, when it fires, answers the expired ones and re-arms itself.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING

from unkai.platform.gateway.responses import REQUEST_TIMEOUT

if TYPE_CHECKING:
    from unkai.platform.gateway.exchange import Exchange


class FirstByteDeadlines:
    """One revision's requests waiting for their first response byte, and one timer.

    An exchange is pending while its ``deadline`` is non-zero. Deadlines come in
    arrival order while the revision's limit stays the same, so the queue's head is
    the earliest; after a limit change they may not, so the timer looks at every
    pending exchange when it fires (it fires about once per limit under steady load).
    """

    __slots__ = ("_pending", "_queue", "_timer", "_when")

    def __init__(self) -> None:
        self._queue: deque[Exchange] = deque()
        self._pending = 0
        self._timer: asyncio.TimerHandle | None = None
        self._when = 0.0

    def add(self, exchange: Exchange, deadline: float) -> None:
        """Answer ``exchange`` with a 504 at ``deadline`` unless :meth:`done` comes first."""
        exchange.deadline = deadline
        self._queue.append(exchange)
        self._pending += 1
        if self._timer is None or deadline < self._when:
            self._arm(exchange.client.loop, deadline)

    def done(self, exchange: Exchange) -> None:
        """The exchange's response started, or the exchange ended: no 504 for it.

        Exchanges mostly finish in arrival order, so they leave from the front; a slow
        one in front makes the rest wait in the queue, which is compacted when done
        ones outnumber the pending (as the activator's queue is).
        """
        exchange.deadline = 0.0
        self._pending -= 1
        queue = self._queue
        while queue and not queue[0].deadline:
            queue.popleft()
        if len(queue) > 2 * self._pending + 64:
            self._queue = deque(pending for pending in queue if pending.deadline)

    def _arm(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._when = deadline
        self._timer = loop.call_later(deadline - time.monotonic(), self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now = time.monotonic()
        pending: deque[Exchange] = deque()
        expired: list[Exchange] = []
        for exchange in self._queue:
            if exchange.deadline:
                (expired if exchange.deadline <= now else pending).append(exchange)
        self._queue = pending
        self._pending = len(pending)
        for exchange in expired:
            exchange.deadline = 0.0
            exchange.timed_out(REQUEST_TIMEOUT)
        if pending:
            self._arm(loop, min(exchange.deadline for exchange in pending))


def idle(exchange: Exchange, limit: float) -> asyncio.TimerHandle:
    """Arm the idle limit (when the response starts, for revisions that set one)."""
    exchange.last_write = time.monotonic()
    return exchange.client.loop.call_later(limit, _idle_check, exchange, limit)


def _idle_check(exchange: Exchange, limit: float) -> None:
    exchange.timer = None
    if exchange.finished:
        return
    quiet = time.monotonic() - exchange.last_write
    if quiet < limit:
        exchange.timer = exchange.client.loop.call_later(
            limit - quiet, _idle_check, exchange, limit
        )
    else:
        exchange.idled_out()
