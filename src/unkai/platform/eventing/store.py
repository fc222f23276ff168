"""The broker's durable queue: SQLite in WAL mode, synced, with group commit.

An event is acknowledged (202) only once it is on disk, so every append waits for a
commit with ``synchronous=FULL`` (the WAL is fsynced at each commit). Commits are
grouped: at most one runs at a time, and the next takes every operation gathered
meanwhile (when it starts: :mod:`.pacing`).

Operations come from two event loops (broker ingress answers on the gateway's, the
dispatchers' deletes come from the platform's) and are gathered, under a lock, into
the next commit's rows. A writer thread of the store's own sleeps until the pace says
start, writes the rows, commits, and wakes each loop that waits once per commit (not
once per event: a hand-over between threads costs tens of microseconds of CPU, and up
to a switch interval of waiting for the GIL when the machine is busy).

A commit is a handful of statements whatever it carries (rows of a kind go in one
multi-row statement per power-of-two slice): every statement releases the GIL while
SQLite runs and must take it back after, and with one statement per row a commit of 16
events held 3.3 ms (p50) on this machine while a bare fsync took 0.3 ms; with a handful,
0.8 ms (docs/benchmarks.md).

Tables: ``events`` (the stored event, as structured JSON, per sequence number) and
``deliveries`` (one row per trigger that still owes the event a delivery, with the
attempts made). A delivery row goes when the event was delivered, filtered out or
dead-lettered; the event goes with its last delivery row. Deletes need no wait: if the
platform dies before they commit, the event is delivered again (at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Final

from unkai.errors import TargetError
from unkai.events.codec import Event
from unkai.platform.eventing.pacing import Pace

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, broker TEXT NOT NULL, arrival REAL NOT NULL, event BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    trigger TEXT NOT NULL, seq INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (trigger, seq)
) WITHOUT ROWID;
"""
log = logging.getLogger("unkai.eventing")

_SLICE: Final = 256
"""Most rows in one statement: slices of 256, 128, ... 1 rows make at most nine
statement texts per kind, all kept in the connection's statement cache."""


class EventStoreError(TargetError):
    """The broker's event store could not write (disk full, file removed, ...)."""


@dataclass(frozen=True)
class StoredEvent:
    """An accepted event as stored: its number, broker (``ns/name``), arrival, bytes;
    and, for one accepted by this process, the decoded event (not stored: it saves each
    trigger's dispatcher a decode)."""

    seq: int
    broker: str
    arrival: float
    event: bytes
    decoded: Event | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Pending:
    """What a restart finds: the stored events and who still owes each a delivery."""

    events: dict[int, StoredEvent]
    deliveries: list[tuple[str, int, int]]  # (trigger "ns/name", seq, attempts)


Waiter = tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]


@dataclass
class _Rows:
    """What one commit writes, gathered from the operations since the last one."""

    forgotten: list[tuple[str]] = field(default_factory=list)  # triggers gone
    events: list[tuple[int, str, float, bytes]] = field(default_factory=list)
    owed: list[tuple[str, int]] = field(default_factory=list)
    attempts: list[tuple[int, str, int]] = field(default_factory=list)
    done: dict[str, list[int]] = field(default_factory=dict)  # trigger -> seqs
    removed: list[int] = field(default_factory=list)  # events no trigger owes
    waiters: list[Waiter] = field(default_factory=list)


class EventStore:
    """Appends wait for their commit; deletes and attempt counts are written behind.

    Every method but :meth:`open` and :meth:`close` may be called from any thread.
    """

    def __init__(self, path: Path, *, observe: Callable[[float], None] | None = None) -> None:
        self.path = path
        self.commits = 0  # transactions committed: operations / commits = batching
        self._observe = observe  # each synced commit's seconds, fsync included
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._rows = _Rows()
        self._pace = Pace()
        self._asleep_until: float | None = None  # the writer waits for this time or a wake
        self._closing = False
        self._writer: threading.Thread | None = None
        self._synced = True  # the connection's synchronous setting: FULL (else NORMAL)

    def open(self) -> Pending:
        """Create or open the file, return what it holds, start the writer."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = self._db = _connect(self.path)
        events = {
            seq: StoredEvent(seq, broker, arrival, bytes(body))
            for seq, broker, arrival, body in db.execute(
                "SELECT seq, broker, arrival, event FROM events ORDER BY seq"
            )
        }
        deliveries = list(db.execute("SELECT trigger, seq, attempts FROM deliveries ORDER BY seq"))
        self._writer = threading.Thread(target=self._write, name="event-store", daemon=True)
        self._writer.start()
        return Pending(events, deliveries)

    @property
    def backlog(self) -> int:
        """Operations gathered for the next commit (not the one under way)."""
        return self._pace.gathered

    async def close(self) -> None:
        """Write what is gathered, then close the file; later appends fail."""
        with self._lock:
            self._closing = True
            self._wake.notify()
        if self._writer is not None:
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        if self._db is not None:
            self._db.close()
            self._db = None

    async def append(self, events: Sequence[StoredEvent], triggers: Iterable[str]) -> None:
        """Store ``events`` with a delivery row per trigger; returns once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._closing:
                raise EventStoreError(f"event store {self.path}: closed")
            rows = self._rows
            rows.events += [(e.seq, e.broker, e.arrival, e.event) for e in events]
            rows.owed += [(trigger, e.seq) for trigger in triggers for e in events]
            rows.waiters.append((loop, future))
            self._gathered(waited=True)
        await future

    def done(self, trigger: str, seq: int, *, last: bool) -> None:
        """``trigger`` is done with event ``seq``; ``last``: no trigger owes it anymore."""
        with self._lock:
            rows = self._rows
            rows.done.setdefault(trigger, []).append(seq)
            if last:
                rows.removed.append(seq)
            self._gathered(waited=False)

    def attempted(self, trigger: str, seq: int, attempts: int) -> None:
        """Record the attempts made, so a restart does not grant a fresh retry budget."""
        with self._lock:
            self._rows.attempts.append((attempts, trigger, seq))
            self._gathered(waited=False)

    def forget_trigger(self, trigger: str, orphans: Iterable[int]) -> None:
        """Drop a trigger's delivery rows, and the events no trigger owes anymore."""
        with self._lock:
            self._rows.forgotten.append((trigger,))
            self._rows.removed.extend(orphans)
            self._gathered(waited=False)

    def _gathered(self, *, waited: bool) -> None:
        """Count an operation (the lock held); wake the writer if it now starts sooner."""
        pace = self._pace
        pace.gather(time.monotonic(), waited=waited)
        asleep_until = self._asleep_until
        if asleep_until is not None:
            start = pace.start_at()
            if start is not None and start < asleep_until:
                self._asleep_until = None
                self._wake.notify()

    # -- the writer thread -------------------------------------------------------------

    def _write(self) -> None:
        while (rows := self._next()) is not None:
            began = time.monotonic()
            error = self._commit(rows)
            ended = time.monotonic()
            with self._lock:
                self._pace.committed(ended)
            if rows.waiters and error is None and self._observe is not None:
                self._observe(ended - began)
            _answer(rows.waiters, error)

    def _next(self) -> _Rows | None:
        """Sleep until the pace says start (or the store closes); take the rows."""
        with self._lock:
            while True:
                pace = self._pace
                start = pace.start_at()
                now = time.monotonic()
                if start is None and self._closing:
                    self._asleep_until = None
                    return None
                if start is not None and (start <= now or self._closing):
                    self._asleep_until = None
                    rows, self._rows = self._rows, _Rows()
                    pace.started()
                    return rows
                wake = pace.wake_at(now)
                self._asleep_until = float("inf") if wake is None else wake
                self._wake.wait(None if wake is None else wake - now)

    def _commit(self, rows: _Rows) -> EventStoreError | None:
        """One transaction for everything gathered (on the writer thread).

        Synced when someone waits for it; a commit of deletes alone is not (WAL with
        ``synchronous=NORMAL``: safe against a killed process; a power loss at worst
        delivers those events again)."""
        db = self._db
        assert db is not None
        try:
            if self._synced != bool(rows.waiters):
                self._synced = bool(rows.waiters)
                db.execute(f"PRAGMA synchronous={'FULL' if self._synced else 'NORMAL'}")
            # Deletes first: a delete never names a row inserted in the same commit, and
            # the space it frees takes the inserts (the other way round, the inserts split
            # pages first: 2.3 times the bytes written per event).
            with db:  # BEGIN ... COMMIT, or ROLLBACK on error
                if rows.forgotten:
                    db.executemany("DELETE FROM deliveries WHERE trigger = ?", rows.forgotten)
                for trigger, seqs in rows.done.items():
                    _delete(db, "deliveries WHERE trigger = ? AND seq", seqs, trigger)
                _delete(db, "events WHERE seq", rows.removed)
                if rows.attempts:
                    db.executemany(
                        "UPDATE deliveries SET attempts = ? WHERE trigger = ? AND seq = ?",
                        rows.attempts,
                    )
                _insert(db, "events", 4, rows.events)
                _insert(db, "deliveries (trigger, seq)", 2, rows.owed)
        except sqlite3.Error as failure:
            return EventStoreError(f"event store {self.path}: {failure}")
        except Exception as failure:  # a bug here must not leave every producer waiting
            log.exception("event store commit failed", extra={"path": str(self.path)})
            return EventStoreError(f"event store {self.path}: internal error: {failure!r}")
        self.commits += 1
        return None


def _answer(waiters: list[Waiter], error: BaseException | None) -> None:
    """Settle the waiters' futures, one call into each waiting loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for loop, future in waiters:
        by_loop.setdefault(loop, []).append(future)
    for loop, futures in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits anymore
            loop.call_soon_threadsafe(_settle, futures, error)


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if not future.done():
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)


def _slices(count: int) -> Iterable[tuple[int, int]]:
    """``(start, size)`` covering ``count`` rows in power-of-two sizes up to _SLICE."""
    start = 0
    while start < count:
        size = min(_SLICE, 1 << ((count - start).bit_length() - 1))
        yield start, size
        start += size


def _insert(
    db: sqlite3.Connection, table: str, width: int, rows: Sequence[tuple[object, ...]]
) -> None:
    for start, size in _slices(len(rows)):
        values = [value for row in rows[start : start + size] for value in row]
        db.execute(_insert_sql(table, width, size), values)


def _delete(db: sqlite3.Connection, where: str, keys: list[int], *first: object) -> None:
    for start, size in _slices(len(keys)):
        db.execute(_delete_sql(where, size), [*first, *keys[start : start + size]])


@cache
def _insert_sql(table: str, width: int, rows: int) -> str:
    row = "(" + ", ".join("?" * width) + ")"
    return f"INSERT INTO {table} VALUES " + ", ".join([row] * rows)


@cache
def _delete_sql(where: str, keys: int) -> str:
    return f"DELETE FROM {where} IN (" + ", ".join("?" * keys) + ")"


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level="DEFERRED")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(_SCHEMA)
    return db
