"""The SQLite store on its own: revisions, optimistic concurrency, durability, watch.

Aspects: one global revision across resources; create/update/delete refusals; state
and revision survive reopening the file; a watch starts from the current objects or
resumes from a revision; many subscribers see the same events in commit order;
compaction makes older revisions expire.
"""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from unkai.platform.store import (
    AlreadyExistsError,
    ConflictError,
    Event,
    ExpiredError,
    Key,
    NotFoundError,
    Store,
)

T = TypeVar("T")
A = Key("as.example.com", "default", "a")
B = Key("bs.example.com", "", "b")


def obj(name: str, **fields: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "uid": f"uid-{name}"}, **fields}


def run(path: Path, body: Callable[[Store], Awaitable[T]], **options: Any) -> T:
    async def main() -> T:
        store = await Store.open(path, **options)
        try:
            return await body(store)
        finally:
            await store.close()

    return asyncio.run(main())


def test_writes_share_one_revision_and_refuse_stale_versions(tmp_path: Path) -> None:
    async def body(store: Store) -> None:
        a = await store.create(A, obj("a"))
        b = await store.create(B, obj("b"))
        assert (a["metadata"]["resourceVersion"], b["metadata"]["resourceVersion"]) == ("1", "2")
        with pytest.raises(AlreadyExistsError):
            await store.create(A, obj("a"))
        updated = await store.update(A, obj("a", spec=1), expect=1)
        assert updated["metadata"]["resourceVersion"] == "3"
        with pytest.raises(ConflictError):
            await store.update(A, obj("a", spec=2), expect=1)
        with pytest.raises(NotFoundError):
            await store.update(Key("as.example.com", "default", "zz"), obj("zz"))
        gone = await store.delete(B)
        assert gone["metadata"]["resourceVersion"] == "4"
        assert await store.get(B) is None
        items, revision = await store.select("as.example.com")
        assert [item["spec"] for item in items] == [1]
        assert revision == 4

    run(tmp_path / "db", body)


def test_state_and_revision_survive_reopening(tmp_path: Path) -> None:
    async def write(store: Store) -> None:
        await store.create(A, obj("a"))
        await store.create(B, obj("b"))

    async def read(store: Store) -> tuple[Any, int, str]:
        created = await store.create(Key("as.example.com", "default", "c"), obj("c"))
        return await store.get(A), store.revision, created["metadata"]["resourceVersion"]

    run(tmp_path / "db", write)
    a, revision, new = run(tmp_path / "db", read)
    assert a == {**obj("a"), "metadata": {**obj("a")["metadata"], "resourceVersion": "1"}}
    assert (revision, new) == (3, "3")


def test_watches_fan_out_in_commit_order_and_resume(tmp_path: Path) -> None:
    async def body(store: Store) -> None:
        await store.create(A, obj("a"))
        listing = await store.watch("as.example.com")
        followers = [await store.watch(None, since=store.revision) for _ in range(3)]
        writes = [store.update(A, obj("a", n=n)) for n in range(5)]
        await asyncio.gather(*writes, store.create(B, obj("b")))
        first = await anext(listing)
        assert (first.type, first.object["metadata"]["name"]) == ("ADDED", "a")

        async def take(watch: Any, count: int) -> list[Event]:
            return [await anext(watch) for _ in range(count)]

        seen = [await take(follower, 6) for follower in followers]
        revisions = [[event.revision for event in events] for events in seen]
        assert revisions[0] == revisions[1] == revisions[2] == list(range(2, 8))
        assert [event.revision for event in await take(listing, 5)] == [2, 3, 4, 5, 6]
        resumed = await store.watch(None, since=5)
        assert [event.revision for event in await take(resumed, 2)] == [6, 7]
        for watch in (listing, resumed, *followers):
            watch.close()
        assert len(store.hub) == 0

    run(tmp_path / "db", body)


def test_compaction_expires_old_revisions(tmp_path: Path) -> None:
    async def body(store: Store) -> None:
        for n in range(10):
            await store.create(Key("as.example.com", "default", f"o{n}"), obj(f"o{n}"))
        with pytest.raises(ExpiredError, match="too old resource version: 1"):
            await store.watch(None, since=1)
        watch = await store.watch(None, since=7)
        assert [(await anext(watch)).revision for _ in range(3)] == [8, 9, 10]
        watch.close()

    run(tmp_path / "db", body, history=3)


def test_closing_the_store_ends_watches(tmp_path: Path) -> None:
    async def main() -> list[Event]:
        store = await Store.open(tmp_path / "db")
        watch = await store.watch(None, since=0)
        await store.close()
        return [event async for event in watch]

    assert asyncio.run(main()) == []
