"""Per-request timers, with Knative's queue-proxy semantics.

Before the response starts, one timer runs: the revision's first-byte limit
(:attr:`~.settings.RevisionSettings.first_byte_limit`, the earliest of
``timeoutSeconds``, ``responseStartTimeoutSeconds`` and ``idleTimeoutSeconds``,
measured from arrival, held time included). When it fires the client gets 504
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
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from unkai.platform.gateway.responses import REQUEST_TIMEOUT

if TYPE_CHECKING:
    from unkai.platform.gateway.exchange import Exchange


def first_byte(exchange: Exchange, limit: float) -> asyncio.TimerHandle:
    """Arm the first-byte limit (at arrival)."""
    return exchange.client.loop.call_later(limit, _first_byte_passed, exchange)


def idle(exchange: Exchange, limit: float) -> asyncio.TimerHandle:
    """Arm the idle limit (when the response starts)."""
    exchange.last_write = time.monotonic()
    return exchange.client.loop.call_later(limit, _idle_check, exchange, limit)


def cancel(exchange: Exchange) -> None:
    if exchange.timer is not None:
        exchange.timer.cancel()
        exchange.timer = None


def _first_byte_passed(exchange: Exchange) -> None:
    exchange.timer = None
    if not exchange.finished and not exchange.response_started:
        exchange.timed_out(REQUEST_TIMEOUT)


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
