"""Memory of a process as the kernel counts it: RSS and PSS from /proc/PID/smaps_rollup.

PSS (proportional set size) divides each shared page by the number of processes that
map it, so the PSS of a set of processes adds up to what they cost the machine; RSS
counts a page shared by a fork-server and its instances once in each.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import psutil


def rollup(pid: int) -> dict[str, int]:
    """``{"Rss": bytes, "Pss": bytes, ...}`` of ``pid`` from its smaps_rollup."""
    fields: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as rollup_file:
        for line in rollup_file:
            name, _, rest = line.partition(":")
            parts = rest.split()
            if len(parts) == 2 and parts[1] == "kB":
                fields[name] = int(parts[0]) * 1024
    return fields


def mib(pids: Iterable[int], field: str) -> float:
    """The sum of ``field`` (``"Rss"`` or ``"Pss"``) over ``pids``, in MiB."""
    return sum(rollup(pid)[field] for pid in pids) / 2**20


def family(pid: int) -> list[int]:
    """``pid`` and every process below it (fork-servers, instances)."""
    process = psutil.Process(pid)
    return [pid, *(child.pid for child in process.children(recursive=True))]


def settled(pid: int, *, quiet: float = 1.0, timeout: float = 30.0) -> dict[str, int]:
    """``pid``'s :func:`rollup` once its RSS has stayed within 64 KiB for ``quiet``
    seconds (start-up work done: the first reconciles, the gateway's thread, caches
    filled), or after ``timeout`` seconds whatever it is then."""
    deadline = time.monotonic() + timeout
    last = rollup(pid)
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = rollup(pid)
        if abs(now["Rss"] - last["Rss"]) > 64 * 1024:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    return last


def threads(pid: int) -> int:
    """How many threads ``pid`` runs (each holds a stack: part of its RSS)."""
    return psutil.Process(pid).num_threads()
