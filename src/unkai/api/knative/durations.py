"""Durations as Knative writes them: Go's ``time.ParseDuration`` and ISO-8601.

Serving annotations (``autoscaling.knative.dev/window: "1m30s"``) use Go durations;
eventing delivery settings (``backoffDelay: PT0.2S``) use ISO-8601. Both parse to a
:class:`~datetime.timedelta`; Go's nanoseconds below a microsecond are truncated.
Messages quote bounds the way Go prints durations (``1h0m0s``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

_GO_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 micro sign
    "μs": 1_000,  # U+03BC Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_GO_PART = re.compile(r"(\d*\.?\d*)([a-zµμ]+)")
_ISO = re.compile(
    r"P(?:(?P<Y>\d+(?:[.,]\d+)?)Y)?(?:(?P<M>\d+(?:[.,]\d+)?)M)?(?:(?P<W>\d+(?:[.,]\d+)?)W)?"
    r"(?:(?P<D>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:[.,]\d+)?)H)?(?:(?P<m>\d+(?:[.,]\d+)?)M)?(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?"
)
# Calendar units have no fixed length; these are the averages ``period.Parse`` uses.
_ISO_SECONDS = {
    "Y": Decimal("31556952"),
    "M": Decimal("2629746"),
    "W": Decimal(604800),
    "D": Decimal(86400),
    "h": Decimal(3600),
    "m": Decimal(60),
    "s": Decimal(1),
}


def parse_go_duration(text: str) -> timedelta:
    """``"1m30s"`` -> 90 s. Raises :class:`ValueError` with Go's message on bad input."""
    body = text
    sign = 1
    if body and body[0] in "+-":
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return timedelta(0)
    if not body:
        raise ValueError(f'time: invalid duration "{text}"')
    total_ns = Decimal(0)
    position = 0
    while position < len(body):
        match = _GO_PART.match(body, position)
        if match is None or match.group(1) in ("", "."):
            raise ValueError(f'time: invalid duration "{text}"')
        number, unit = match.groups()
        if unit not in _GO_UNITS_NS:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{text}"')
        total_ns += Decimal(number) * _GO_UNITS_NS[unit]
        position = match.end()
    microseconds = int(total_ns) // 1_000
    return sign * timedelta(microseconds=microseconds)


def format_go_duration(value: timedelta) -> str:
    """A duration as Go's ``Duration.String`` prints it: ``6s``, ``1m30s``, ``1h0m0s``."""
    micros = value // timedelta(microseconds=1)
    if micros == 0:
        return "0s"
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    if micros < 1_000_000:
        if micros % 1_000 == 0:
            return f"{sign}{micros // 1_000}ms"
        return f"{sign}{micros}µs"
    hours, rest = divmod(micros, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    whole, fraction = divmod(rest, 1_000_000)
    seconds = f"{whole}.{fraction:06d}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return f"{sign}{seconds}"


def parse_iso8601_duration(text: str) -> timedelta:
    """``"PT0.2S"`` -> 200 ms. Raises :class:`ValueError` on anything else."""
    match = _ISO.fullmatch(text)
    if match is None or text in ("P", "") or text.endswith("T"):
        raise ValueError(f"invalid ISO-8601 duration {text!r}")
    seconds = Decimal(0)
    for unit, amount in match.groupdict().items():
        if amount is not None:
            seconds += Decimal(amount.replace(",", ".")) * _ISO_SECONDS[unit]
    return timedelta(microseconds=int(seconds * 1_000_000))
