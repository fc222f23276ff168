"""The broker's durable queue: SQLite in WAL mode, synced, with group commit.

An event is acknowledged (202) only once it is on disk, so every append waits for a
commit with ``synchronous=FULL`` (the WAL is fsynced at each commit). One fsync per
event would cap ingress at the disk's fsync rate; instead one writer thread takes
*every* operation queued while the previous commit was syncing and commits them in one
transaction: many producers share one fsync, and the batch grows by itself with the
load (group commit, as PostgreSQL's and InnoDB's logs do). No timer is waited on, so a
lone producer pays one fsync and nothing more.

Tables: ``events`` (the stored event, as structured JSON, per sequence number) and
``deliveries`` (one row per trigger that still owes the event a delivery, with the
attempts made). A delivery row goes when the event was delivered, filtered out or
dead-lettered; the event goes with its last delivery row. Deletes need no wait: if the
platform dies before they commit, the event is delivered again (at least once).
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from unkai.errors import TargetError

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, broker TEXT NOT NULL, arrival REAL NOT NULL, event BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    trigger TEXT NOT NULL, seq INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (trigger, seq)
) WITHOUT ROWID;
"""


class EventStoreError(TargetError):
    """The broker's event store could not write (disk full, file removed, ...)."""


@dataclass(frozen=True)
class StoredEvent:
    """An accepted event as stored: its number, broker (``ns/name``), arrival, bytes."""

    seq: int
    broker: str
    arrival: float
    event: bytes


@dataclass(frozen=True)
class Pending:
    """What a restart finds: the stored events and who still owes each a delivery."""

    events: dict[int, StoredEvent]
    deliveries: list[tuple[str, int, int]]  # (trigger "ns/name", seq, attempts)


Operation = Callable[[sqlite3.Connection], None]


class EventStore:
    """Appends wait for their commit; deletes and attempt counts are written behind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.commits = 0  # transactions committed (fsyncs): appends / commits = batching
        self._ops: queue.SimpleQueue[tuple[Operation, asyncio.Future[None] | None] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def open(self) -> Pending:
        """Create or open the file, return what it holds, and start the writer."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = _connect(self.path)
        events = {
            seq: StoredEvent(seq, broker, arrival, bytes(body))
            for seq, broker, arrival, body in db.execute(
                "SELECT seq, broker, arrival, event FROM events ORDER BY seq"
            )
        }
        deliveries = list(db.execute("SELECT trigger, seq, attempts FROM deliveries ORDER BY seq"))
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(
            target=self._write_loop, args=(db,), name="event-store", daemon=True
        )
        self._thread.start()
        return Pending(events, deliveries)

    def close(self) -> None:
        """Write what is queued, then stop the writer."""
        if self._thread is not None:
            self._ops.put(None)
            self._thread.join(30)
            self._thread = None

    async def append(self, events: list[StoredEvent], triggers: Iterable[str]) -> None:
        """Store ``events`` with a delivery row per trigger; returns once committed."""
        rows = [(e.seq, e.broker, e.arrival, e.event) for e in events]
        owed = [(trigger, e.seq) for trigger in triggers for e in events]

        def write(db: sqlite3.Connection) -> None:
            db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", rows)
            db.executemany("INSERT INTO deliveries (trigger, seq) VALUES (?, ?)", owed)

        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._ops.put((write, future))
        await future

    def done(self, trigger: str, seq: int, *, last: bool) -> None:
        """``trigger`` is done with event ``seq``; ``last``: no trigger owes it anymore."""

        def write(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM deliveries WHERE trigger = ? AND seq = ?", (trigger, seq))
            if last:
                db.execute("DELETE FROM events WHERE seq = ?", (seq,))

        self._ops.put((write, None))

    def attempted(self, trigger: str, seq: int, attempts: int) -> None:
        """Record the attempts made, so a restart does not grant a fresh retry budget."""

        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE deliveries SET attempts = ? WHERE trigger = ? AND seq = ?",
                (attempts, trigger, seq),
            )

        self._ops.put((write, None))

    def forget(self, seqs: Iterable[int]) -> None:
        """Drop events (their broker went) with every delivery row they had."""
        numbers = [(seq,) for seq in seqs]

        def write(db: sqlite3.Connection) -> None:
            db.executemany("DELETE FROM deliveries WHERE seq = ?", numbers)
            db.executemany("DELETE FROM events WHERE seq = ?", numbers)

        self._ops.put((write, None))

    def forget_trigger(self, trigger: str, orphans: Iterable[int]) -> None:
        """Drop a trigger's delivery rows, and the events no trigger owes anymore."""
        numbers = [(seq,) for seq in orphans]

        def write(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM deliveries WHERE trigger = ?", (trigger,))
            db.executemany("DELETE FROM events WHERE seq = ?", numbers)

        self._ops.put((write, None))

    def _write_loop(self, db: sqlite3.Connection) -> None:
        """Take everything queued, run it in one transaction, commit (one fsync), answer."""
        running = True
        while running:
            batch = [self._ops.get()]
            while True:
                try:
                    batch.append(self._ops.get_nowait())
                except queue.Empty:
                    break
            work = [item for item in batch if item is not None]
            running = len(work) == len(batch)
            error: BaseException | None = None
            # Only appends are waited on; a batch of deletes alone commits unsynced
            # (WAL, synchronous=NORMAL: safe against a killed process, and a power
            # loss at worst delivers those events again).
            synced = any(future is not None for _, future in work)
            db.execute(f"PRAGMA synchronous={'FULL' if synced else 'NORMAL'}")
            try:
                with db:  # BEGIN ... COMMIT, or ROLLBACK on error
                    for operation, _ in work:
                        operation(db)
                self.commits += 1
            except sqlite3.Error as failure:
                error = EventStoreError(f"event store {self.path}: {failure}")
            for _, future in work:
                if future is not None and self._loop is not None:
                    self._loop.call_soon_threadsafe(_settle, future, error)
        db.close()


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level="DEFERRED")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(_SCHEMA)
    return db
