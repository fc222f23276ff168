"""The event store: what is appended survives a reopen until every trigger is done."""

import asyncio
from pathlib import Path

from unkai.platform.eventing.store import EventStore, StoredEvent


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


def test_appends_made_while_a_commit_runs_share_the_next_one(tmp_path: Path) -> None:
    async def run() -> int:
        store = EventStore(tmp_path / "events.db")
        store.open()
        events = [StoredEvent(n, "default/b", 0.0, b"{}") for n in range(1, 101)]
        await asyncio.gather(*(store.append([event], ["default/t"]) for event in events))
        commits = store.commits
        await store.close()
        return commits

    assert asyncio.run(run()) < 100
