"""First-byte deadlines without sockets: a fake loop advances time, timers fire on it.

A revision's pending requests share one timer; each is answered with 504 at its own
deadline, not a moment before, unless its response started first.
"""

from dataclasses import dataclass, field

from tests.gateway.fakes import FakeLoop

from unkai.platform.gateway.responses import REQUEST_TIMEOUT
from unkai.platform.gateway.timeouts import FirstByteDeadlines


@dataclass(eq=False)
class Request:
    """A request waiting for its first byte: records when it timed out."""

    loop: FakeLoop
    deadline: float = 0.0
    timed_out_at: list[float] = field(default_factory=list)

    def timed_out(self, body: bytes) -> None:
        assert body == REQUEST_TIMEOUT
        self.timed_out_at.append(self.loop.now)


def setup() -> tuple[FakeLoop, FirstByteDeadlines]:
    loop = FakeLoop(now=0.0)
    return loop, FirstByteDeadlines(loop, loop.clock)


def test_a_request_times_out_at_its_deadline_not_before() -> None:
    loop, deadlines = setup()
    request = Request(loop)
    deadlines.add(request, 10.0)
    loop.advance(9.999)
    assert request.timed_out_at == []
    loop.advance(0.001)
    assert request.timed_out_at == [10.0]
    assert (request.deadline, loop.timers) == (0.0, [])


def test_a_request_whose_response_started_never_times_out() -> None:
    loop, deadlines = setup()
    request = Request(loop)
    deadlines.add(request, 10.0)
    loop.advance(5)
    deadlines.done(request)
    loop.advance(60)
    assert request.timed_out_at == []


def test_requests_share_one_timer_and_each_times_out_at_its_own_deadline() -> None:
    loop, deadlines = setup()
    requests = []
    for _ in range(5):  # one a second, each with a 10 s limit
        request = Request(loop)
        deadlines.add(request, loop.now + 10)
        requests.append(request)
        loop.advance(1)
    assert loop.timers == [10.0]
    deadlines.done(requests[1])
    loop.advance(20)
    assert [r.timed_out_at for r in requests] == [[10.0], [], [12.0], [13.0], [14.0]]


def test_a_lower_limit_brings_the_timer_forward() -> None:
    loop, deadlines = setup()
    patient, hasty = Request(loop), Request(loop)
    deadlines.add(patient, 30.0)
    deadlines.add(hasty, 5.0)  # the revision's timeout was lowered meanwhile
    assert loop.timers == [5.0]
    loop.advance(60)
    assert (hasty.timed_out_at, patient.timed_out_at) == ([5.0], [30.0])


def test_requests_done_behind_a_slow_one_never_time_out() -> None:
    loop, deadlines = setup()
    slow = Request(loop)
    deadlines.add(slow, 100.0)
    quick = [Request(loop) for _ in range(1000)]
    for request in quick:  # each answered soon after arrival, behind the slow one
        deadlines.add(request, loop.now + 100)
        deadlines.done(request)
        loop.advance(0.01)
    loop.advance(200)
    assert slow.timed_out_at == [100.0]
    assert not any(request.timed_out_at for request in quick)
    assert loop.timers == []
