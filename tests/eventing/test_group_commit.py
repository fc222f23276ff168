"""Group commit: concurrent producers share commits, and a lone one is not held back.

The decision (:class:`~unkai.platform.eventing.pacing.Pace`) is pure, tested with time
passed in; the store is tested with its writer held by a real SQLite write lock taken
from a second connection, so what gathers meanwhile is known, not timed.
"""

import asyncio
import sqlite3
import time
from pathlib import Path

from prometheus_client import CollectorRegistry

from unkai.platform import eventing
from unkai.platform.eventing.pacing import COMMIT_DELAY, WRITE_BEHIND_DELAY, Pace
from unkai.platform.eventing.store import StoredEvent

PRODUCERS = 16


def after_a_commit(answered: int, *, ended: float) -> Pace:
    """The pace right after a commit that answered ``answered`` producers."""
    pace = Pace()
    for _ in range(answered):
        pace.gather(ended - 0.001, waited=True)
    pace.started()
    pace.committed(ended)
    return pace


def test_a_lone_producer_starts_its_commit_as_soon_as_its_event_comes() -> None:
    pace = after_a_commit(1, ended=100.0)
    assert pace.start_at() is None  # nothing gathered: nothing to start

    pace.gather(100.0004, waited=True)  # its next event, a round trip later

    assert pace.start_at() == 100.0004


def test_a_lone_producer_after_a_crowd_waits_no_longer_than_the_commit_delay() -> None:
    pace = after_a_commit(PRODUCERS, ended=100.0)

    pace.gather(100.0004, waited=True)  # the other fifteen stopped sending

    assert pace.start_at() == 100.0004 + COMMIT_DELAY


def test_the_commit_starts_when_every_producer_it_answered_has_sent_again() -> None:
    pace = after_a_commit(PRODUCERS, ended=100.0)
    for n in range(PRODUCERS - 1):
        pace.gather(100.0001 + n * 1e-5, waited=True)
    assert pace.start_at() == 100.0001 + COMMIT_DELAY  # still one to come

    pace.gather(100.0003, waited=True)

    assert pace.start_at() == 100.0001  # due since the first came: now


def test_appends_gathered_during_a_commit_wait_from_its_end() -> None:
    pace = Pace()
    pace.gather(100.0, waited=True)
    pace.started()
    pace.gather(100.001, waited=True)  # comes while the first commit runs
    assert pace.start_at() is None  # one commit at a time

    pace.committed(100.004)

    # expected: the one answered and the one waiting; the latter alone is here
    assert pace.start_at() == 100.004 + COMMIT_DELAY


def test_operations_nobody_waits_for_are_written_behind() -> None:
    pace = after_a_commit(1, ended=100.0)
    pace.gather(100.5, waited=False)
    assert pace.start_at() == 100.5 + WRITE_BEHIND_DELAY

    pace.gather(100.501, waited=True)  # an append: they ride along with it

    assert pace.start_at() == 100.501


def test_the_deletes_a_commit_brings_do_not_wake_the_writer_before_they_are_due() -> None:
    pace = after_a_commit(1, ended=100.0)
    wake = pace.wake_at(100.001)  # nothing gathered: the writer sleeps until then
    assert wake == 100.0 + WRITE_BEHIND_DELAY

    pace.gather(100.003, waited=False)  # the delivered event's delete
    start = pace.start_at()
    assert start is not None
    assert start >= wake  # no need to wake the writer for it

    pace.gather(100.004, waited=True)  # the producer's next event
    assert pace.start_at() == 100.004  # that one wakes it
    assert pace.wake_at(100.0041) == 100.004
    assert after_a_commit(1, ended=100.0).wake_at(100.5) is None  # idle: until woken


def test_concurrent_producers_share_commits_counted_on_metrics(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    brokers, _ = eventing.build(
        tmp_path, domain="localhost", gateway_host="127.0.0.1",
        gateway_port=lambda: 0, registry=registry,
    )  # fmt: skip
    store = brokers.store
    events = [StoredEvent(n, "default/b", 0.0, b'{"n": %d}' % n) for n in range(PRODUCERS)]

    def commits() -> float:
        return registry.get_sample_value("unkai_event_store_commits_total") or 0.0

    async def until(check: object, what: str) -> None:
        deadline = time.monotonic() + 10
        while not check():  # type: ignore[operator]
            assert time.monotonic() < deadline, what
            await asyncio.sleep(0.001)

    async def scenario() -> None:
        brokers.open()
        before = commits()
        blocker = sqlite3.connect(store.path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # the write lock: the store's commit waits
        try:
            first = asyncio.ensure_future(store.append(events[:1], ["default/t"]))
            await asyncio.sleep(0)  # the task runs up to its wait: its append is gathered
            await until(lambda: store.backlog == 0, "the writer took the first append")
            rest = [asyncio.ensure_future(store.append([e], ["default/t"])) for e in events[1:]]
            await until(lambda: store.backlog == PRODUCERS - 1, "the rest gathered")
            assert not first.done()
        finally:
            blocker.execute("COMMIT")
            blocker.close()
        await asyncio.gather(first, *rest)
        # the held commit, then one for the fifteen gathered behind it
        assert commits() - before == 2
        await brokers.close()

    asyncio.run(scenario())
