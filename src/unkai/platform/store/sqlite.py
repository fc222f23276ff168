"""The object store: one SQLite file, one writer thread, one global revision.

Objects are JSON documents keyed by (group-resource, namespace, name), and strict
JSON: writing NaN or Infinity is a ``ValueError``, as no client could read it back.
Every write runs in one transaction that stores the object, bumps the global revision
(the ``resourceVersion`` clients see, like an etcd revision) and appends a change
event to a log. The log keeps the last ``history`` events so a watch can resume from a recent
revision; older requests get :class:`~unkai.platform.store.errors.ExpiredError` (HTTP 410).

All SQLite work happens on a single dedicated thread: the connection is never shared,
writes are serialised without locks, and events reach the hub in commit order. The
file uses WAL with ``synchronous=FULL`` so a write that returned survives a crash.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from unkai.platform.store.errors import (
    AlreadyExistsError,
    ConflictError,
    ExpiredError,
    NotFoundError,
)
from unkai.platform.store.events import Event, EventType, Hub, Key, Watch

T = TypeVar("T")
Object = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    uid TEXT NOT NULL, revision INTEGER NOT NULL, created TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (resource, namespace, name)
);
CREATE TABLE IF NOT EXISTS events (
    revision INTEGER PRIMARY KEY, type TEXT NOT NULL,
    resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counters VALUES ('revision', 0), ('compacted', 0);
"""


class Store:
    """Async access to the object store; open with :meth:`open`, end with :meth:`close`."""

    def __init__(self, path: Path, *, history: int) -> None:
        self.path = path
        self.history = history
        self.hub = Hub()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="unkai-store")
        self._db: sqlite3.Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._revision = 0
        self._compacted = 0

    @classmethod
    async def open(cls, path: Path, *, history: int = 1000) -> Store:
        """Open (creating if needed) the store at ``path``; keep ``history`` events."""
        store = cls(path, history=history)
        store._loop = asyncio.get_running_loop()
        await store._run(store._connect)
        return store

    async def close(self) -> None:
        """End every watch, then close the database."""
        self.hub.close()
        await self._run(self._disconnect)
        self._executor.shutdown(wait=True)

    @property
    def revision(self) -> int:
        """The revision of the last committed write."""
        return self._revision

    async def get(self, key: Key) -> Object | None:
        return await self._run(self._get, key)

    async def select(
        self, resource: str | None, namespace: str | None = None
    ) -> tuple[list[Object], int]:
        """Every object of ``resource`` (all resources when None) in ``namespace`` (all
        when None), sorted by namespace and name, with the revision they were read at."""
        return await self._run(self._list, resource, namespace)

    async def create(self, key: Key, obj: Object) -> Object:
        """Store a new object; raises AlreadyExistsError. Returns it with its resourceVersion."""
        return await self._run(self._write, "ADDED", key, obj, None)

    async def update(self, key: Key, obj: Object, *, expect: int | None = None) -> Object:
        """Replace an object; raises NotFoundError, or ConflictError when ``expect`` is given and
        is not the stored revision of the object."""
        return await self._run(self._write, "MODIFIED", key, obj, expect)

    async def delete(self, key: Key, *, expect: int | None = None) -> Object:
        """Remove an object; returns its last state stamped with the deletion revision."""
        return await self._run(self._write, "DELETED", key, None, expect)

    async def watch(
        self, resource: str | None, *, namespace: str | None = None, since: int | None = None
    ) -> Watch:
        """Watch changes. With ``since`` None the watch starts with an ADDED event per
        existing object; otherwise with every logged change after ``since``. Raises
        ExpiredError when ``since`` is older than the log."""
        subscription = self.hub.subscribe(resource, namespace)
        try:
            backlog, revision = await self._run(self._backlog, resource, namespace, since)
        except BaseException:
            self.hub.unsubscribe(subscription)
            raise
        return Watch(self.hub, subscription, backlog, revision)

    # -- on the store thread -------------------------------------------------------------

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(_SCHEMA)
        counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
        self._revision, self._compacted = counters["revision"], counters["compacted"]
        self._db = db

    def _disconnect(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("store is closed")
        return self._db

    def _get(self, key: Key) -> Object | None:
        row = self._conn.execute(
            "SELECT data FROM objects WHERE resource=? AND namespace=? AND name=?", key
        ).fetchone()
        return None if row is None else _load(row[0])

    def _list(self, resource: str | None, namespace: str | None) -> tuple[list[Object], int]:
        rows = self._conn.execute(
            "SELECT data FROM objects WHERE (?1 IS NULL OR resource=?1)"
            " AND (?2 IS NULL OR namespace=?2) ORDER BY namespace, name",
            (resource, namespace),
        ).fetchall()
        return [_load(data) for (data,) in rows], self._revision

    def _backlog(
        self, resource: str | None, namespace: str | None, since: int | None
    ) -> tuple[list[Event], int]:
        if since is None:
            rows = self._conn.execute(
                "SELECT resource, namespace, name, revision, data FROM objects"
                " WHERE (?1 IS NULL OR resource=?1) AND (?2 IS NULL OR namespace=?2)"
                " ORDER BY revision",
                (resource, namespace),
            ).fetchall()
            events = [
                Event("ADDED", Key(r, ns, n), _load(data), revision)
                for r, ns, n, revision, data in rows
            ]
            return events, self._revision
        if since < self._compacted:
            raise ExpiredError(since, self._compacted)
        rows = self._conn.execute(
            "SELECT type, resource, namespace, name, revision, data FROM events"
            " WHERE revision > ?3 AND (?1 IS NULL OR resource=?1)"
            " AND (?2 IS NULL OR namespace=?2) ORDER BY revision",
            (resource, namespace, since),
        ).fetchall()
        events = [
            Event(kind, Key(r, ns, n), _load(data), revision)
            for kind, r, ns, n, revision, data in rows
        ]
        return events, max(since, 0)

    def _write(self, kind: EventType, key: Key, obj: Object | None, expect: int | None) -> Object:
        db = self._conn
        row = db.execute(
            "SELECT revision, data FROM objects WHERE resource=? AND namespace=? AND name=?", key
        ).fetchone()
        if kind == "ADDED" and row is not None:
            raise AlreadyExistsError(key)
        if kind != "ADDED" and row is None:
            raise NotFoundError(key)
        if expect is not None and row is not None and row[0] != expect:
            raise ConflictError(key)
        revision = self._revision + 1
        stored = _load(row[1]) if obj is None else obj
        stored = {**stored, "metadata": {**stored["metadata"], "resourceVersion": str(revision)}}
        data = json.dumps(stored, separators=(",", ":"), allow_nan=False)
        db.execute("BEGIN IMMEDIATE")
        try:
            if kind == "DELETED":
                db.execute("DELETE FROM objects WHERE resource=? AND namespace=? AND name=?", key)
            else:
                metadata = stored["metadata"]
                db.execute(
                    "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        *key,
                        metadata.get("uid", ""),
                        revision,
                        metadata.get("creationTimestamp", ""),
                        data,
                    ),
                )
            db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", (revision, kind, *key, data))
            db.execute("UPDATE counters SET value=? WHERE name='revision'", (revision,))
            compacted = self._compact(revision)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite has already rolled back after SQLITE_FULL
                db.execute("ROLLBACK")
            raise
        self._revision, self._compacted = revision, compacted
        self._publish(Event(kind, key, stored, revision))
        return stored

    def _compact(self, revision: int) -> int:
        """Drop events older than the window, in batches of a tenth of it."""
        floor = revision - self.history
        if floor - self._compacted < max(1, self.history // 10):
            return self._compacted
        self._conn.execute("DELETE FROM events WHERE revision <= ?", (floor,))
        self._conn.execute("UPDATE counters SET value=? WHERE name='compacted'", (floor,))
        return floor

    def _publish(self, event: Event) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.hub.publish, event)


def _load(data: str) -> Object:
    loaded: Object = json.loads(data)
    return loaded
