"""Durations: Go's ParseDuration (serving annotations) and ISO-8601 (eventing delivery).

Aspects: the spellings Knative users write, Go's error messages, Go's formatting of
bounds in messages (``1h0m0s``), and ISO-8601 periods such as ``PT0.2S``.
"""

import pytest

from unkai.api.knative.durations import (
    format_go_duration,
    parse_go_duration,
    parse_iso8601_duration,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1m30s", 90),
        ("60s", 60),
        ("0", 0),
        ("1h", 3600),
        ("1.5h", 5400),
        ("300ms", 0.3),
        ("-2s", -2),
        ("1h0m0s", 3600),
        ("2h45m", 9900),
        ("1us", 0.000001),
        ("1µs", 0.000001),
    ],
)
def test_go_duration_parses(text: str, seconds: float) -> None:
    assert parse_go_duration(text).total_seconds() == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'time: invalid duration ""'),
        ("60", 'time: invalid duration "60"'),
        ("1x", 'time: unknown unit "x" in duration "1x"'),
        ("s", 'time: invalid duration "s"'),
    ],
)
def test_go_duration_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_go_duration(text)


@pytest.mark.parametrize(
    ("text", "formatted"),
    [
        ("6s", "6s"),
        ("1h", "1h0m0s"),
        ("90s", "1m30s"),
        ("0s", "0s"),
        ("1.25s", "1.25s"),
        ("300ms", "300ms"),
    ],
)
def test_go_duration_formats_like_go(text: str, formatted: str) -> None:
    assert format_go_duration(parse_go_duration(text)) == formatted


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT0.2S", 0.2),
        ("PT1S", 1),
        ("PT1M", 60),
        ("P1D", 86400),
        ("P1DT1H", 90000),
        ("PT1,5S", 1.5),
        ("P1W", 604800),
    ],
)
def test_iso8601_duration_parses(text: str, seconds: float) -> None:
    assert parse_iso8601_duration(text).total_seconds() == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "P", "PT", "1S", "PT1", "0.2S", "PTS"])
def test_iso8601_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid ISO-8601 duration"):
        parse_iso8601_duration(text)
