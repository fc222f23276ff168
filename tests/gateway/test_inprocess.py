"""Requests from inside the platform, into the gateway without a socket
(:mod:`unkai.platform.gateway.inprocess`): the same routing, proxy headers, activator,
limits and statistics as a request over TCP; the caller on a loop of its own, as the
brokers' deliveries are on the platform's main loop."""

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from tests.gateway.conftest import NS, RunningGateway, wait_for
from tests.gateway.upstreams import Upstream

from unkai.platform.contracts import RevisionKey
from unkai.platform.gateway.inprocess import Answer, InProcessClient

REVISION = RevisionKey(NS, "hello-00001")


def ask(gw: RunningGateway, host: str, target: str = "/", *, timeout: float = 10) -> Answer | None:
    """One POST from a loop of the test's own (another thread than the gateway's)."""
    client = InProcessClient(lambda: gw.loop, lambda: gw.gateway.state)
    headers = [(b"host", host.encode()), (b"ce-id", b"1")]
    return asyncio.run(client.request(b"POST", target.encode(), headers, b"hello", internal=False,
                                      timeout=timeout))  # fmt: skip


def counts(gw: RunningGateway) -> tuple[int, int]:
    """The revision's requests in flight and held (-1, -1 before it is known)."""
    stats = gw.call(gw.gateway.stats, REVISION)
    return (-1, -1) if stats is None else (stats.in_flight, stats.held)


def test_a_routed_request_reaches_the_instance_as_from_an_internal_caller(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    host = gw.route("hello", {"hello-00001": 100})
    gw.endpoints("hello-00001", upstream("echo"))
    answer = ask(gw, host, "/path?q=1")
    assert answer is not None
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    seen = json.loads(answer.body)
    assert (seen["method"], seen["path"], seen["query"], seen["body"]) == (
        "POST",
        "/path",
        "q=1",
        5,
    )
    headers = dict(seen["headers"])
    assert headers["host"] == host
    assert headers["ce-id"] == "1"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["forwarded"] == f"for=127.0.0.1;proto=http;host={host}"
    assert counts(gw) == (0, 0)


def test_a_host_with_no_route_gets_the_gateway_s_404(gw: RunningGateway) -> None:
    answer = ask(gw, "nothing.default.localhost")
    assert answer is not None
    assert answer.status == 404


def test_a_revision_at_zero_is_woken_and_the_request_held_until_it_serves(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    host = gw.route("hello", {"hello-00001": 100})
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(ask, gw, host)
        wait_for(lambda: counts(gw) == (1, 1))
        assert gw.cold == [REVISION]
        gw.endpoints("hello-00001", upstream("echo"))
        answer = pending.result(10)
    assert answer is not None
    assert answer.status == 200


def test_a_caller_that_stops_waiting_frees_the_instance_slot(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    host = gw.route("hello", {"hello-00001": 100})
    gw.endpoints("hello-00001", upstream("slow"))
    assert ask(gw, host, "/?delay=5", timeout=0.2) is None
    wait_for(lambda: counts(gw) == (0, 0))


def test_requests_started_together_each_get_their_own_answer(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    host = gw.route("hello", {"hello-00001": 100})
    gw.endpoints("hello-00001", upstream("echo"))
    client = InProcessClient(lambda: gw.loop, lambda: gw.gateway.state)

    async def burst() -> list[Answer | None]:
        headers = [(b"host", host.encode())]
        return await asyncio.gather(*(
            client.request(b"POST", f"/{n}".encode(), headers, b"x" * n, internal=False, timeout=10)
            for n in range(64)
        ))  # fmt: skip

    answers = asyncio.run(burst())
    seen = [json.loads(answer.body) for answer in answers if answer is not None]
    assert [(one["path"], one["body"]) for one in seen] == [(f"/{n}", n) for n in range(64)]
