"""Delivery decisions, pure: what an attempt's outcome means and when to try again.

Knative's dispatcher (``pkg/kncloudevents/retries.go``) retries on no response, 404,
408, 409, 429 and every 5xx, and on nothing else: another 4xx is final at once.
``retry`` is the number of retries, so an event gets ``retry + 1`` attempts.

The wait before the n-th retry (n ≥ 1), with ``d = backoffDelay``, follows Knative's
code rather than its docs (which say ``d·2^n``): go-retryablehttp hands the backoff
function the attempt index from 0, so exponential waits ``d·2^(n-1)`` (d, 2d, 4d, …)
and linear waits ``d·(n-1)`` (0, d, 2d, …). With ``retryAfterMax`` set (Knative's
``delivery-retryafter`` feature), a ``Retry-After`` on a 429 or 503 is honoured, capped
by it, when it asks for longer than the backoff; ``PT0S`` opts out.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Final

from unkai.platform.contracts import DeliveryPlan

ERROR_DATA_LIMIT: Final = 1024
_RETRYABLE_4XX: Final = frozenset({404, 408, 409, 429})


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Attempt:
    """What one attempt got: a status (``None``: no response) and the response body."""

    status: int | None
    body: bytes = b""
    retry_after: str | None = None


def retryable(status: int | None) -> bool:
    """Whether Knative tries again after this answer (``None``: no response at all)."""
    return status is None or status >= 500 or status in _RETRYABLE_4XX


def judge(attempt: Attempt, attempts: int, plan: DeliveryPlan) -> Outcome:
    """The outcome after ``attempts`` attempts (this one included)."""
    if attempt.status is not None and 200 <= attempt.status < 300:
        return Outcome.DELIVERED
    if retryable(attempt.status) and attempts <= plan.retry:
        return Outcome.RETRY
    return Outcome.FAILED


def backoff(plan: DeliveryPlan, retry: int) -> float:
    """Seconds to wait before the ``retry``-th retry (from 1)."""
    index = max(0, retry - 1)
    if plan.backoff_policy == "linear":
        return plan.backoff_delay * index
    return plan.backoff_delay * 2.0 ** min(index, 32)


def wait(plan: DeliveryPlan, retry: int, attempt: Attempt, now: datetime) -> float:
    """The backoff, or a longer ``Retry-After`` when the plan honours it."""
    delay = backoff(plan, retry)
    cap = plan.retry_after_max
    if not cap or attempt.retry_after is None or attempt.status not in (429, 503):
        return delay
    asked = _retry_after_seconds(attempt.retry_after, now)
    return max(delay, min(asked, cap)) if asked is not None else delay


def _retry_after_seconds(value: str, now: datetime) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds())


def error_extensions(destination: str, attempt: Attempt) -> dict[str, str | int]:
    """Knative's extensions on a dead-lettered event (``knative_error.go``): where it
    failed, the last status, and the response body base64-encoded, cut to 1024 bytes."""
    extensions: dict[str, str | int] = {"knativeerrordest": destination}
    if attempt.status is not None:
        extensions["knativeerrorcode"] = attempt.status
    if attempt.body:
        extensions["knativeerrordata"] = base64.b64encode(attempt.body[:ERROR_DATA_LIMIT]).decode()
    return extensions
