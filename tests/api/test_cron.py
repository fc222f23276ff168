"""Cron schedules as PingSource runs them: which times fire, in which zone.

Aspects: five- and six-field forms, names, steps and lists, ``?``, descriptors and
``@every``, day-of-month/day-of-week OR semantics, time zones, and robfig's errors.
"""

from datetime import UTC, datetime

import pytest

from unkai.api.knative import cron

NOW = datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC)  # a Thursday


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("* * * * *", datetime(2026, 1, 1, 12, 1, tzinfo=UTC)),
        ("*/15 * * * *", datetime(2026, 1, 1, 12, 15, tzinfo=UTC)),
        ("10 0/1 * * * ?", datetime(2026, 1, 1, 12, 1, 10, tzinfo=UTC)),
        ("0 9 * * MON-FRI", datetime(2026, 1, 2, 9, 0, tzinfo=UTC)),
        ("0 0 1 jan,jul *", datetime(2026, 7, 1, tzinfo=UTC)),
        ("0 0 13 * 5", datetime(2026, 1, 2, tzinfo=UTC)),  # 13th OR Friday: Friday 2nd first
        ("0 0 29 2 *", datetime(2028, 2, 29, tzinfo=UTC)),
        ("@hourly", datetime(2026, 1, 1, 13, tzinfo=UTC)),
        ("@daily", datetime(2026, 1, 2, tzinfo=UTC)),
        ("@every 1m30s", datetime(2026, 1, 1, 12, 2, tzinfo=UTC)),
    ],
)
def test_next_firing(spec: str, expected: datetime) -> None:
    assert cron.parse(spec).next_after(NOW) == expected


def test_time_zone_applies_to_wall_clock() -> None:
    schedule = cron.parse("0 9 * * *", timezone="Europe/Berlin")
    assert schedule.next_after(NOW) == datetime(2026, 1, 2, 8, 0, tzinfo=UTC)
    assert cron.parse("CRON_TZ=Europe/Berlin 0 9 * * *").next_after(NOW) == schedule.next_after(NOW)


def test_impossible_schedule_never_fires() -> None:
    assert cron.parse("0 0 31 2 *").next_after(NOW) is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty spec string"),
        ("* * *", r"expected 5 to 6 fields, found 3: \[\* \* \*\]"),
        ("* * * * * * *", "expected 5 to 6 fields, found 7"),
        ("60 * * * *", r"end of range \(60\) above maximum \(59\): 60"),
        ("* * 0 * *", r"beginning of range \(0\) below minimum \(1\): 0"),
        ("5-1 * * * *", r"beginning of range \(5\) beyond end of range \(1\): 5-1"),
        ("*/0 * * * *", "step of range should be a positive number: \\*/0"),
        ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
        ("*/2/3 * * * *", "too many slashes: \\*/2/3"),
        ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
        ("@fortnightly", "unrecognized descriptor: @fortnightly"),
        ("TZ=Nowhere/Land * * * * *", "provided bad location Nowhere/Land"),
    ],
)
def test_rejected(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cron.parse(spec)
