"""Admission without sockets: the breaker's choice and the revision throttle's queue.

The rules the conformance tests in ``test_breaker.py`` and ``test_activator.py`` check
over HTTP, here one decision at a time: least loaded under ``containerConcurrency``,
ties to the first instance; held requests first in, first out, withdrawn in place,
answered at once when the revision goes; the autoscaler poked once per cold period.
"""

import pytest
from tests.gateway.fakes import KEY, FakeLoop, FakeWaiter, throttle

from unkai.platform.contracts import RevisionKey
from unkai.platform.gateway import Endpoint, GatewayConfig, RevisionSettings
from unkai.platform.gateway.activator import OverloadedError, RevisionThrottle
from unkai.platform.gateway.breaker import Breaker
from unkai.platform.gateway.upstream import Backend

ENDPOINTS = [Endpoint("127.0.0.1", 8000 + n) for n in range(3)]


def breaker(*loads: int, cc: int = 0) -> Breaker:
    breaker = Breaker()
    breaker.configure(cc, 10 * cc)
    breaker.ready = [Backend(endpoint, GatewayConfig()) for endpoint in ENDPOINTS[: len(loads)]]
    for backend, load in zip(breaker.ready, loads, strict=True):
        backend.in_flight = load
    return breaker


def loads(breaker: Breaker) -> list[int]:
    return [backend.in_flight for backend in breaker.ready]


@pytest.mark.parametrize(
    ("before", "cc", "chosen"),
    [
        pytest.param((2, 0, 1), 0, 1, id="least-loaded"),
        pytest.param((1, 1, 1), 0, 0, id="tie-goes-to-the-first"),
        pytest.param((3, 1, 1), 0, 1, id="tie-among-the-least-loaded"),
        pytest.param((100, 50), 0, 1, id="cc-0-has-no-limit"),
        pytest.param((2, 1), 2, 1, id="under-the-limit"),
    ],
)
def test_the_breaker_picks_the_least_loaded_instance_and_counts_it_in(
    before: tuple[int, ...], cc: int, chosen: int
) -> None:
    b = breaker(*before, cc=cc)
    picked = b.pick()
    assert picked is b.ready[chosen]
    expected = list(before)
    expected[chosen] += 1
    assert loads(b) == expected


@pytest.mark.parametrize("before", [(2, 2), ()], ids=["all-at-the-limit", "no-instance"])
def test_the_breaker_places_nothing_when_no_instance_has_room(before: tuple[int, ...]) -> None:
    b = breaker(*before, cc=2)
    assert b.pick() is None
    assert loads(b) == list(before)


def test_queue_depth_is_max_held_while_cold_then_ten_times_cc_per_instance() -> None:
    assert breaker(cc=1).queue_depth(max_held=7) == 7
    assert breaker(0, 0, cc=3).queue_depth(max_held=7) == 60
    assert breaker(0, cc=0).queue_depth(max_held=7) == 0


def ready(revision: RevisionThrottle, count: int = 1) -> list[Backend]:
    revision.set_endpoints(ENDPOINTS[:count], GatewayConfig())
    return list(revision.breaker.ready)


def test_a_request_with_room_is_placed_at_once() -> None:
    revision = throttle(FakeLoop(), container_concurrency=1)
    [backend] = ready(revision)
    waiter = FakeWaiter()
    assert revision.admit(waiter) is backend
    assert (waiter.held, backend.in_flight, revision.stats.held) == (False, 1, 0)


def test_held_requests_go_first_in_first_out_as_room_frees() -> None:
    revision = throttle(FakeLoop(), container_concurrency=1)
    [backend] = ready(revision)
    assert revision.admit(FakeWaiter()) is backend
    first, second = FakeWaiter(), FakeWaiter()
    assert revision.admit(first) is None
    assert revision.admit(second) is None
    assert (first.held, second.held, revision.stats.held) == (True, True, 2)
    revision.release(backend)
    assert (first.placed_on, second.placed_on) == (backend, None)
    assert (first.held, revision.stats.held, backend.in_flight) == (False, 1, 1)
    revision.release(backend)
    assert second.placed_on is backend


def test_a_withdrawn_request_is_skipped() -> None:
    revision = throttle(FakeLoop())
    gone, waiting = FakeWaiter(), FakeWaiter()
    revision.admit(gone)
    revision.admit(waiting)
    revision.withdraw(gone)
    revision.withdraw(gone)  # twice (timed out, then the client left): counted once
    assert revision.stats.held == 1
    [backend] = ready(revision)
    assert (gone.placed_on, waiting.placed_on) == (None, backend)
    assert revision.stats.held == 0


def test_past_the_queue_depth_a_request_is_refused() -> None:
    cold = throttle(FakeLoop(), max_held=2)
    cold.admit(FakeWaiter())
    cold.admit(FakeWaiter())
    with pytest.raises(OverloadedError):
        cold.admit(FakeWaiter())
    busy = throttle(FakeLoop(), container_concurrency=1)
    ready(busy)
    waiters = [FakeWaiter() for _ in range(11)]  # 1 placed + 10 × CC held
    for waiter in waiters:
        busy.admit(waiter)
    with pytest.raises(OverloadedError):
        busy.admit(FakeWaiter())
    assert busy.stats.held == 10


def test_a_deleted_revision_answers_its_held_requests_at_once() -> None:
    revision = throttle(FakeLoop())
    held, withdrawn = FakeWaiter(), FakeWaiter()
    revision.admit(held)
    revision.admit(withdrawn)
    revision.withdraw(withdrawn)
    revision.abandon()
    assert (held.abandoned, withdrawn.abandoned) == (True, False)
    assert (held.held, revision.stats.held) == (False, 0)


def test_the_autoscaler_is_poked_once_per_cold_period_then_for_each_queued() -> None:
    poked: list[RevisionKey] = []
    loop = FakeLoop()
    revision = RevisionThrottle(
        KEY, loop, loop.clock, max_held=100, on_cold=poked.append, meter=None
    )
    revision.configure(RevisionSettings(container_concurrency=1))
    revision.admit(FakeWaiter())
    revision.admit(FakeWaiter())
    assert poked == [KEY]  # at the first held request while cold, not at every one
    [backend] = ready(revision)  # takes the first; the second waits for room
    assert poked == [KEY] * 2  # still held beyond ready capacity: more instances
    revision.admit(FakeWaiter())  # queued beyond ready capacity too
    assert poked == [KEY] * 3
    revision.set_endpoints([], GatewayConfig())  # its last instance goes, requests held
    assert poked == [KEY] * 4
    assert backend.draining


def test_an_instance_left_out_drains_then_is_forgotten() -> None:
    revision = throttle(FakeLoop())
    old, new = ready(revision, 2)
    assert revision.admit(FakeWaiter()) is old
    assert revision.admit(FakeWaiter()) is new
    revision.set_endpoints([new.endpoint], GatewayConfig())
    assert (old.draining, new.draining) == (True, False)
    assert revision.admit(FakeWaiter()) is new  # a tie, but old takes no new request
    revision.prune()
    assert old.endpoint in revision.backends  # a request still runs there
    revision.release(old)
    revision.prune()
    assert list(revision.backends) == [new.endpoint]
