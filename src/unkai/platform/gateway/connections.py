"""The open client connections, in the orders the limits need them.

Three insertion-ordered dicts keep every question O(1) or proportional to what it
answers, however many connections are open (issue 13 opened 20,000):

* ``open``: every connection, to close them all when the gateway stops;
* ``idle``: connections with no request under way (a new one, one between keep-alive
  requests, one still sending its head), oldest idle first: when the cap is reached
  the first of them is shed to make room, and the keep-alive sweep stops at the first
  one not yet expired;
* ``waiting``: connections whose request head has started (a new connection's starts
  when it is accepted, as Go's ``ReadHeaderTimeout`` counts) but is not complete,
  with when it started: the header timeout closes them in that order.

``head_bytes`` is the memory held by unfinished heads over all connections; the
connections keep it up to date and refuse the one that takes it over its bound.
The decisions take ``now`` and return what to close; closing is the caller's.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import Final

from unkai.platform.gateway.limits import Refusal, Refusals
from unkai.platform.gateway.ports import Connection

REQUEST_BUCKETS: Final = (0, 1, 2, 5, 10, 100, 1000, 10_000)
"""Bounds of the requests-per-connection histogram: 0 is a connection that never
completed a request head (what a slowloris attacker's look like)."""


class ConnectionTable:
    """Open client connections, which are idle, which are waiting for a head."""

    __slots__ = (
        "accepted",
        "cap",
        "head_bytes",
        "idle",
        "open",
        "refusals",
        "requests_carried",
        "requests_per_connection",
        "waiting",
    )

    def __init__(self, cap: int, refusals: Refusals) -> None:
        self.cap = cap
        self.refusals = refusals
        self.open: dict[Connection, None] = {}
        self.idle: dict[Connection, float] = {}
        self.waiting: dict[Connection, float] = {}
        self.head_bytes = 0
        self.accepted = 0
        # closed connections, by how many requests each carried (REQUEST_BUCKETS, +Inf)
        self.requests_per_connection = [0] * (len(REQUEST_BUCKETS) + 1)
        self.requests_carried = 0

    def __iter__(self) -> Iterator[Connection]:
        return iter(list(self.open))

    def __len__(self) -> int:
        return len(self.open)

    def opened(self, connection: Connection, now: float) -> Connection | None:
        """Take a new connection at ``now``. At the cap, the oldest idle one makes room
        and is returned (the caller closes it); with none idle, the new one itself is
        returned: refused."""
        shed: Connection | None = None
        self.accepted += 1
        if len(self.open) >= self.cap:
            if not self.idle:
                self.refusals.note(Refusal.AT_CAPACITY, now)
                return connection
            shed = next(iter(self.idle))
            self.closed(shed)
            self.refusals.note(Refusal.SHED_IDLE, now)
        self.open[connection] = None
        self.idle[connection] = now
        self.waiting[connection] = now
        return shed

    def head_started(self, connection: Connection, now: float) -> None:
        """The first bytes of a request head arrived: its header timeout runs."""
        self.waiting.setdefault(connection, now)

    def busy(self, connection: Connection) -> None:
        """A request head is complete: neither idle nor waiting until it is answered."""
        self.idle.pop(connection, None)
        self.waiting.pop(connection, None)

    def rested(self, connection: Connection, now: float) -> None:
        """Every request on ``connection`` is answered: idle from ``now``."""
        if connection in self.open:
            self.idle[connection] = now

    def replaced(self, old: Connection, new: Connection, now: float) -> None:
        """``old`` speaks another protocol through ``new`` from ``now`` on (HTTP/2 after
        its preface): ``new`` stands in the table for it, idle, with no head under way."""
        self.closed(old)
        self.open[new] = None
        self.idle[new] = now

    def ended(self, requests: int) -> None:
        """A connection has closed after carrying ``requests`` requests."""
        self.requests_per_connection[bisect_left(REQUEST_BUCKETS, requests)] += 1
        self.requests_carried += requests

    def closed(self, connection: Connection) -> None:
        """Forget ``connection`` (safe to call again)."""
        self.open.pop(connection, None)
        self.idle.pop(connection, None)
        self.waiting.pop(connection, None)

    def expired(
        self, now: float, *, keep_alive: float, header_timeout: float
    ) -> Iterator[Connection]:
        """Connections to close at ``now``, forgotten as they are given: those whose
        head has taken longer than ``header_timeout`` (a refusal), then those idle
        longer than ``keep_alive`` (not one: the client may simply reconnect)."""
        for table, limit, refusal in (
            (self.waiting, header_timeout, Refusal.HEADER_TIMEOUT),
            (self.idle, keep_alive, None),
        ):
            while table:
                connection, since = next(iter(table.items()))
                if since > now - limit:
                    break
                self.closed(connection)
                if refusal is not None:
                    self.refusals.note(refusal, now)
                yield connection
