"""What the gateway refuses to hostile or broken clients, how often it says so, and how
many connections the process can afford.

Every refusal is counted (``unkai_gateway_connections_refused_total``, by reason) and
logged at most once per kind per :data:`LOG_INTERVAL`, with how many there were: a
flood of refused connections must not become a flood of log lines (issue 13 measured
318 MB of tracebacks in a minute). :class:`RefusalLog` is the pure part of that, with
time passed in.

The connection cap comes from the process's file limit: the gateway shares one fd
table with the API server, the store, the logs and every instance socket, so it may
use only part of it, or 20,000 idle clients would starve the API (issue 13).
"""

from __future__ import annotations

import logging
import resource
from enum import StrEnum
from typing import Final

log = logging.getLogger("unkai.gateway")

MAX_CONNECTIONS: Final = 10_000
"""Client connections open at once, at most, where the file limit affords it."""
LOG_INTERVAL: Final = 10.0
"""Seconds between two log lines about the same kind of refusal."""
RESERVED_FDS: Final = 1024
"""File descriptors left to everything but client connections: the API server's
connections, the store, log files, instance sockets and pipes."""
FDS_PER_CONNECTION: Final = 2
"""A client connection with a request under way also holds an instance connection."""


class Refusal(StrEnum):
    """Why the gateway closed a client's connection, or never served it."""

    AT_CAPACITY = "at_capacity"  # a new connection while every open one is busy
    SHED_IDLE = "shed_idle"  # the oldest idle connection, closed to make room
    HEADER_TIMEOUT = "header_timeout"  # no complete request head in time
    HEAD_TOO_LARGE = "head_too_large"  # one head over the per-request bound (431)
    HEAD_BUDGET = "head_budget"  # unfinished heads of all connections over the bound
    BAD_REQUEST = "bad_request"  # a head no route may see (400)


class RefusalLog:
    """Which refusals to log, and with what count: one line per kind per ``interval``.

    :meth:`note` says whether a refusal is logged now (the first of its kind, or the
    first once ``interval`` has passed since the last line), with the number of
    refusals that line stands for; :meth:`due` gives the counts still held back once
    their interval is over, so a burst that stops is still reported.
    """

    def __init__(self, interval: float = LOG_INTERVAL) -> None:
        self.interval = interval
        self._quiet_until: dict[Refusal, float] = {}
        self._held_back: dict[Refusal, int] = {}

    def note(self, kind: Refusal, now: float) -> int | None:
        """One more refusal of ``kind`` at ``now``: the count to log now, or ``None``."""
        held = self._held_back.get(kind, 0) + 1
        if now < self._quiet_until.get(kind, float("-inf")):
            self._held_back[kind] = held
            return None
        self._held_back.pop(kind, None)
        self._quiet_until[kind] = now + self.interval
        return held

    def due(self, now: float) -> list[tuple[Refusal, int]]:
        """The held-back counts whose quiet interval is over at ``now`` (and forget them)."""
        ready = [
            (kind, count)
            for kind, count in self._held_back.items()
            if now >= self._quiet_until[kind]
        ]
        for kind, _ in ready:
            del self._held_back[kind]
            self._quiet_until[kind] = now + self.interval
        return ready


class Refusals:
    """The gateway's refusal counters (read by the metrics collector) and its log."""

    __slots__ = ("counts", "limiter")

    def __init__(self, interval: float = LOG_INTERVAL) -> None:
        self.counts = dict.fromkeys(Refusal, 0)
        self.limiter = RefusalLog(interval)

    def note(self, kind: Refusal, now: float) -> None:
        self.counts[kind] += 1
        count = self.limiter.note(kind, now)
        if count is not None:
            _report(kind, count)

    def flush(self, now: float) -> None:
        """Log the counts held back whose interval is over (the sweep calls this)."""
        for kind, count in self.limiter.due(now):
            _report(kind, count)


def _report(kind: Refusal, count: int) -> None:
    log.warning(
        "gateway refused %d connection(s): %s",
        count,
        kind.value,
        extra={"reason": kind.value, "count": count},
    )


def connection_cap(fd_limit: int, configured: int) -> int:
    """Client connections the gateway may hold open under a per-process ``fd_limit``:
    ``configured``, or less when the limit leaves too little beside the reserve
    (``RLIM_INFINITY``: no limit)."""
    if fd_limit == resource.RLIM_INFINITY:
        return configured
    affordable = (fd_limit - RESERVED_FDS) // FDS_PER_CONNECTION
    return max(64, min(configured, affordable))


def raise_fd_limit() -> int:
    """Raise this process's soft ``RLIMIT_NOFILE`` to its hard limit, and return it.

    The soft limit is often 1024 while the hard one is far higher; only the process
    itself can use the difference (what Go's runtime does at start since 1.19)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard or soft == resource.RLIM_INFINITY:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as error:  # an unlimited hard limit may be refused
        log.warning("cannot raise the file limit", extra={"error": str(error)})
        return soft
    return hard
