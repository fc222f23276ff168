"""Cron schedules as PingSource reads them (robfig/cron with optional seconds).

Accepted: five fields (minute hour day-of-month month day-of-week) or six with seconds
first; ``*``, ``?``, lists, ranges, steps and month/weekday names; the descriptors
``@yearly`` ... ``@hourly`` and ``@every <Go duration>``; and a ``CRON_TZ=<zone>`` or
``TZ=<zone>`` prefix. :func:`parse` raises :class:`ValueError` with robfig's wording;
:meth:`Schedule.next_after` gives the next firing time, so the source runner and the
validator share one reading of the expression.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from unkai.api.knative.durations import parse_go_duration

_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_DAYS = {
    name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))
}
# (low, high, names) for second, minute, hour, day of month, month, day of week.
_BOUNDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}),
    (0, 59, {}),
    (0, 23, {}),
    (1, 31, {}),
    (1, 12, _MONTHS),
    (0, 6, _DAYS),
)
_DESCRIPTORS = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}
_HORIZON_YEARS = 5


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: allowed values per field, or a constant delay (``@every``)."""

    fields: tuple[frozenset[int], ...]
    any_day_of_month: bool
    any_day_of_week: bool
    zone: tzinfo
    every: timedelta | None = None

    def _day_matches(self, moment: datetime) -> bool:
        dom = moment.day in self.fields[3]
        dow = (moment.isoweekday() % 7) in self.fields[5]
        if self.any_day_of_month or self.any_day_of_week:
            return dom and dow
        return dom or dow

    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing time strictly after ``moment`` (aware), or ``None`` if none soon."""
        if self.every is not None:
            return moment.replace(microsecond=0) + self.every
        t = moment.astimezone(self.zone).replace(microsecond=0) + timedelta(seconds=1)
        limit = t.year + _HORIZON_YEARS
        seconds, minutes, hours, _, months, _ = self.fields
        while t.year <= limit:
            if t.month not in months:
                year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
                t = t.replace(year=year, month=month, day=1, hour=0, minute=0, second=0)
            elif not self._day_matches(t):
                t = (t + timedelta(days=1)).replace(hour=0, minute=0, second=0)
            elif t.hour not in hours:
                t = (t + timedelta(hours=1)).replace(minute=0, second=0)
            elif t.minute not in minutes:
                t = (t + timedelta(minutes=1)).replace(second=0)
            elif t.second not in seconds:
                t += timedelta(seconds=1)
            else:
                return t
        return None


def parse(spec: str, *, timezone: str = "") -> Schedule:
    """Parse ``spec`` (with PingSource's ``timezone`` applied as ``CRON_TZ=``)."""
    text = f"CRON_TZ={timezone} {spec}" if timezone else spec
    text = text.strip()
    if not text:
        raise ValueError("empty spec string")
    zone: tzinfo = UTC
    if text.startswith(("CRON_TZ=", "TZ=")):
        name, _, text = text.partition("=")[2].partition(" ")
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"provided bad location {name}: {error}") from None
        text = text.strip()
    if text.startswith("@every "):
        delay = parse_go_duration(text.removeprefix("@every ").strip())
        if delay < timedelta(seconds=1):
            delay = timedelta(seconds=1)
        return Schedule(
            (), True, True, zone, every=delay - timedelta(microseconds=delay.microseconds)
        )
    if text.startswith("@"):
        if text not in _DESCRIPTORS:
            raise ValueError(f"unrecognized descriptor: {text}")
        text = _DESCRIPTORS[text]
    parts = text.split()
    if len(parts) not in (5, 6):
        raise ValueError(f"expected 5 to 6 fields, found {len(parts)}: [{' '.join(parts)}]")
    if len(parts) == 5:
        parts = ["0", *parts]
    fields = tuple(_field(part, *bounds) for part, bounds in zip(parts, _BOUNDS, strict=True))
    star = tuple(part in ("*", "?") or part.startswith(("*/", "?/")) for part in parts)
    return Schedule(fields, star[3], star[5], zone)


def _number(text: str, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    if not (text.isascii() and text.isdigit()):
        raise ValueError(
            f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax'
        )
    return int(text)


def _field(text: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for expression in text.split(","):
        range_part, *step_part = expression.split("/")
        if len(step_part) > 1:
            raise ValueError(f"too many slashes: {expression}")
        if range_part in ("*", "?"):
            start, end = low, high
        else:
            bounds = range_part.split("-")
            if len(bounds) > 2:
                raise ValueError(f"too many hyphens: {expression}")
            start = _number(bounds[0], names)
            end = _number(bounds[1], names) if len(bounds) == 2 else start
            if step_part and len(bounds) == 1:
                end = high
        step = _number(step_part[0], {}) if step_part else 1
        if start < low:
            raise ValueError(f"beginning of range ({start}) below minimum ({low}): {expression}")
        if end > high:
            raise ValueError(f"end of range ({end}) above maximum ({high}): {expression}")
        if start > end:
            raise ValueError(
                f"beginning of range ({start}) beyond end of range ({end}): {expression}"
            )
        if step <= 0:
            raise ValueError(f"step of range should be a positive number: {expression}")
        values.update(range(start, end + 1, step))
    return frozenset(values)
