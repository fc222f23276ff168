"""The backoff of a failing reconcile: quick at first, doubling, never over a minute."""

from unkai.platform.controllers.retry import FIRST_DELAY, MAX_DELAY, retry_delay


def test_the_first_retry_is_quick_and_each_next_waits_twice_as_long() -> None:
    assert retry_delay(1) == FIRST_DELAY
    assert [retry_delay(n + 1) / retry_delay(n) for n in range(1, 8)] == [2.0] * 7


def test_the_delay_is_capped_however_often_it_failed() -> None:
    assert retry_delay(20) == MAX_DELAY
    assert retry_delay(10_000) == MAX_DELAY
