"""The event store: what is appended survives a reopen until every trigger is done."""

import asyncio
from pathlib import Path

import pytest

from unkai.platform.eventing.store import EventStore, EventStoreError, StoredEvent


def test_events_stay_until_their_last_trigger_is_done_and_survive_a_reopen(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.db"

    async def first() -> None:
        store = EventStore(path)
        store.open()
        events = [StoredEvent(n, "default/b", 1.5, b'{"n": %d}' % n) for n in (1, 2)]
        await asyncio.gather(
            store.append(events[:1], ["default/t1", "default/t2"]),
            store.append(events[1:], ["default/t1", "default/t2"]),
        )
        store.done("default/t1", 1, last=False)
        store.done("default/t2", 1, last=True)
        store.attempted("default/t1", 2, 3)
        await store.close()

    asyncio.run(first())

    store = EventStore(path)
    pending = store.open()
    assert list(pending.events) == [2]
    assert pending.events[2].event == b'{"n": 2}'
    assert sorted(pending.deliveries) == [("default/t1", 2, 3), ("default/t2", 2, 0)]
    asyncio.run(store.close())


def test_an_append_of_more_events_than_one_statement_holds_is_stored_whole(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.db"
    numbers = range(1, 601)  # rows go in slices of 256, 128, ... per statement

    async def first() -> None:
        store = EventStore(path)
        store.open()
        events = [StoredEvent(n, "default/b", 0.0, b'{"n": %d}' % n) for n in numbers]
        await store.append(events, ["default/t1", "default/t2"])
        for n in numbers[:300]:
            store.done("default/t1", n, last=False)
            store.done("default/t2", n, last=True)
        await store.close()

    asyncio.run(first())

    store = EventStore(path)
    pending = store.open()
    assert list(pending.events) == list(numbers[300:])
    assert pending.events[301].event == b'{"n": 301}'
    assert len(pending.deliveries) == 600
    asyncio.run(store.close())


def test_an_append_after_close_is_refused(tmp_path: Path) -> None:
    async def run() -> None:
        store = EventStore(tmp_path / "events.db")
        store.open()
        await store.close()
        with pytest.raises(EventStoreError, match="closed"):
            await store.append([StoredEvent(1, "default/b", 0.0, b"{}")], ["default/t"])

    asyncio.run(run())
