"""Delivery decisions: which answers are retried, how long to wait, what a dead letter says."""

import base64
from datetime import UTC, datetime, timedelta

import pytest

from unkai.platform.contracts import DeliveryPlan
from unkai.platform.eventing import delivery
from unkai.platform.eventing.delivery import Attempt, Outcome

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "retried"),
    [(None, True), (500, True), (503, True), (404, True), (408, True), (409, True),
     (429, True), (400, False), (401, False), (403, False), (410, False), (422, False)],
)  # fmt: skip
def test_knative_retries_no_answer_5xx_and_a_few_4xx(status: int | None, retried: bool) -> None:
    plan = DeliveryPlan(retry=1)
    outcome = delivery.judge(Attempt(status), 1, plan)
    assert outcome is (Outcome.RETRY if retried else Outcome.FAILED)


def test_retry_counts_retries_so_an_event_gets_retry_plus_one_attempts() -> None:
    plan = DeliveryPlan(retry=2)
    failing = Attempt(500)
    assert [delivery.judge(failing, n, plan) for n in (1, 2, 3)] == [
        Outcome.RETRY, Outcome.RETRY, Outcome.FAILED,
    ]  # fmt: skip
    assert delivery.judge(Attempt(204), 1, plan) is Outcome.DELIVERED


def test_backoff_follows_knative_s_code_from_the_first_retry() -> None:
    exponential = DeliveryPlan(backoff_policy="exponential", backoff_delay=0.2)
    linear = DeliveryPlan(backoff_policy="linear", backoff_delay=0.2)
    assert [delivery.backoff(exponential, n) for n in (1, 2, 3, 4)] == [0.2, 0.4, 0.8, 1.6]
    assert [delivery.backoff(linear, n) for n in (1, 2, 3)] == [0.0, 0.2, 0.4]


def test_retry_after_is_honoured_only_with_retry_after_max_and_capped_by_it() -> None:
    busy = Attempt(429, retry_after="30")
    assert delivery.wait(DeliveryPlan(backoff_delay=1), 1, busy, NOW) == 1
    capped = DeliveryPlan(backoff_delay=1, retry_after_max=10)
    assert delivery.wait(capped, 1, busy, NOW) == 10
    later = (NOW + timedelta(seconds=5)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert delivery.wait(capped, 1, Attempt(503, retry_after=later), NOW) == 5
    assert delivery.wait(capped, 1, Attempt(500, retry_after="30"), NOW) == 1


def test_a_dead_letter_says_where_how_and_what_the_subscriber_answered() -> None:
    body = b"x" * 2000
    extensions = delivery.error_extensions("http://sub/", Attempt(422, body))
    assert extensions["knativeerrordest"] == "http://sub/"
    assert extensions["knativeerrorcode"] == 422
    assert base64.b64decode(str(extensions["knativeerrordata"])) == body[:1024]
    assert "knativeerrorcode" not in delivery.error_extensions("http://sub/", Attempt(None))
