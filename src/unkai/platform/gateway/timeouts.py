"""First-byte deadlines, with Knative's queue-proxy semantics.

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
That idle timer touches only its exchange, so it lives in :mod:`.exchange`.

First-byte limits arm no timer per request: a timer handle costs microseconds to
create, cancel and free, which the request path cannot afford. Each revision keeps
its pending requests in arrival order (:class:`FirstByteDeadlines`) under one timer
set for the earliest deadline; requests whose response started leave the queue as
they do, and the timer, when it fires, answers the expired ones and re-arms itself.
"""

from __future__ import annotations

from collections import deque

from unkai.platform.gateway.ports import Cancellable, Clock, Deadlined, Scheduler
from unkai.platform.gateway.responses import REQUEST_TIMEOUT


class FirstByteDeadlines:
    """One revision's requests waiting for their first response byte, and one timer.

    A request is pending while its ``deadline`` is non-zero. Deadlines come in
    arrival order while the revision's limit stays the same, so the queue's head is
    the earliest; after a limit change they may not, so the timer looks at every
    pending request when it fires (it fires about once per limit under steady load).
    ``loop`` arms the timer and ``clock`` reads the time deadlines are in.
    """

    __slots__ = ("_clock", "_loop", "_pending", "_queue", "_timer", "_when")

    def __init__(self, loop: Scheduler, clock: Clock) -> None:
        self._loop = loop
        self._clock = clock
        self._queue: deque[Deadlined] = deque()
        self._pending = 0
        self._timer: Cancellable | None = None
        self._when = 0.0

    def add(self, request: Deadlined, deadline: float) -> None:
        """Answer ``request`` with a 504 at ``deadline`` unless :meth:`done` comes first."""
        request.deadline = deadline
        self._queue.append(request)
        self._pending += 1
        if self._timer is None or deadline < self._when:
            self._arm(deadline)

    def done(self, request: Deadlined) -> None:
        """The request's response started, or the request ended: no 504 for it.

        Requests mostly finish in arrival order, so they leave from the front; a slow
        one in front makes the rest wait in the queue, which is compacted when done
        ones outnumber the pending (as the activator's queue is).
        """
        request.deadline = 0.0
        self._pending -= 1
        queue = self._queue
        while queue and not queue[0].deadline:
            queue.popleft()
        if len(queue) > 2 * self._pending + 64:
            self._queue = deque(pending for pending in queue if pending.deadline)

    def _arm(self, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._when = deadline
        self._timer = self._loop.call_later(deadline - self._clock(), self._fire)

    def _fire(self) -> None:
        self._timer = None
        now = self._clock()
        pending: deque[Deadlined] = deque()
        expired: list[Deadlined] = []
        for request in self._queue:
            if request.deadline:
                (expired if request.deadline <= now else pending).append(request)
        self._queue = pending
        self._pending = len(pending)
        for request in expired:
            request.deadline = 0.0
            request.timed_out(REQUEST_TIMEOUT)
        if pending:
            self._arm(min(request.deadline for request in pending))
