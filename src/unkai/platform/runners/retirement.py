"""Which idle zygotes to let go of: least recently used first, after an idle time, under
memory pressure, or beyond a count.

A revision's zygote is what makes its cold start a fork (milliseconds) rather than a
new interpreter importing the runtime and the function (hundreds of milliseconds), and
it costs ~32 MiB (PSS) per revision at zero (``docs/benchmarks.md``): a thousand routed
services at zero would need 32 GiB. So the process runner keeps the zygotes of
revisions that have no instance only while that pays: :func:`to_retire` picks, among
the zygotes *idle* (their revision has no live instance) since a given moment, those to
close now. Their next cold start spawns a zygote again (measured in
``docs/benchmarks.md``). Pure: the runner's loop (``ProcessRunner``) passes the time and
whether the machine is short of memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, TypeVar

K = TypeVar("K")

PRESSURE_FRACTION: Final = 0.1
"""Memory is short when less than this fraction of it is available (``MemAvailable``)."""


@dataclass(frozen=True)
class KeepPolicy:
    """``idle_after``: seconds an idle zygote is kept (0: not kept at all); ``at_most``:
    idle zygotes kept at once (0: no limit), the least recently used go first. Under
    memory pressure every idle zygote goes."""

    idle_after: float = 600.0
    at_most: int = 64


def to_retire(
    idle_since: Mapping[K, float], *, now: float, policy: KeepPolicy, pressure: bool
) -> list[K]:
    """The idle zygotes to close now, least recently used first."""
    oldest_first = sorted(idle_since, key=idle_since.__getitem__)
    if pressure:
        return oldest_first
    beyond = len(oldest_first) - policy.at_most if policy.at_most else 0
    return [
        key
        for index, key in enumerate(oldest_first)
        if index < beyond or now - idle_since[key] >= policy.idle_after
    ]


def short_of_memory(meminfo: str, *, fraction: float = PRESSURE_FRACTION) -> bool:
    """Whether ``/proc/meminfo``'s ``MemAvailable`` is under ``fraction`` of ``MemTotal``
    (False when either is missing)."""
    fields = {}
    for line in meminfo.splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.split()[0] if value.split() else ""
    try:
        return int(fields["MemAvailable"]) < fraction * int(fields["MemTotal"])
    except (KeyError, ValueError):
        return False
