"""The gateway on its own thread (``ThreadedGateway``, as ``unkai up`` runs it).

What the platform depends on: requests are answered while the platform's own loop is
busy (a long API listing, say); setters called from that loop take effect for the next
request; the autoscaler hears of requests and cold revisions on its own loop, never
from the gateway's thread; broker ingress answers on the loop that owns the broker;
stopping ends the thread. Real HTTP to a real gateway and a real uvicorn instance.
"""

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx2
from tests.gateway.conftest import NS
from tests.gateway.upstreams import Upstream

from unkai.platform.contracts import RevisionKey, RoutingTable
from unkai.platform.gateway import ThreadedGateway
from unkai.platform.gateway.ports import LocalResponse

KEY = RevisionKey(NS, "hello-00001")
HOST = "hello.default.localhost"
TABLE = RoutingTable(host=HOST, split=((KEY.name, 100),))


@dataclass
class ThreadRecordingMeter:
    """Stands for the autoscaler's meter: every call, with the thread it came on."""

    calls: list[tuple[str, float, int]] = field(default_factory=list)

    def started(self, now: float) -> None:
        self.calls.append(("started", now, threading.get_ident()))

    def finished(self, now: float) -> None:
        self.calls.append(("finished", now, threading.get_ident()))


def get(port: int, host: str = HOST, path: str = "/") -> httpx2.Response:
    with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        return client.get(path, headers={"Host": host})


async def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


def test_requests_are_answered_while_the_platform_loop_is_blocked(
    upstream: Callable[..., Upstream],
) -> None:
    instance = upstream("echo")

    async def scenario() -> None:
        gateway = ThreadedGateway()
        await gateway.start("127.0.0.1", 0)
        try:
            gateway.set_route(NS, TABLE)
            gateway.set_endpoints(KEY, [instance.endpoint])
            answered = threading.Event()
            statuses: list[int] = []

            def call() -> None:
                statuses.append(get(gateway.port).status_code)
                answered.set()

            threading.Thread(target=call).start()
            # This loop (the API server's and the store's) is busy until the answer
            # comes: with the gateway on it, the request could not be served.
            assert answered.wait(10), "no answer while the platform's loop was blocked"
            assert statuses == [200]
            gateway.remove_route(HOST)  # for the very next request
            assert (await asyncio.to_thread(get, gateway.port)).status_code == 404
        finally:
            await gateway.stop(grace=1)
        assert not any(thread.name == "unkai-gateway" for thread in threading.enumerate())

    run(scenario)


def test_the_autoscaler_hears_of_requests_and_cold_revisions_on_its_own_loop(
    upstream: Callable[..., Upstream],
) -> None:
    instance = upstream("echo")
    meters: dict[RevisionKey, ThreadRecordingMeter] = {}
    pokes: list[tuple[RevisionKey, int, int]] = []  # key, thread, meter calls seen then

    def poke(key: RevisionKey) -> None:
        pokes.append((key, threading.get_ident(), len(meters[key].calls)))

    async def scenario() -> None:
        gateway = ThreadedGateway(
            on_cold_request=poke, meter=lambda key: meters.setdefault(key, ThreadRecordingMeter())
        )
        await gateway.start("127.0.0.1", 0)
        try:
            gateway.set_route(NS, TABLE)  # no instance yet: the first request is held
            first = asyncio.create_task(asyncio.to_thread(get, gateway.port))
            await until(lambda: bool(pokes))
            gateway.set_endpoints(KEY, [instance.endpoint])
            assert (await first).status_code == 200
            for _ in range(3):
                assert (await asyncio.to_thread(get, gateway.port)).status_code == 200
            await until(lambda: len(meters[KEY].calls) == 8)
        finally:
            await gateway.stop(grace=1)

    run(scenario)
    here = threading.get_ident()
    assert pokes == [(KEY, here, 1)]  # the held request's start was told before the poke
    calls = meters[KEY].calls
    assert {thread for _, _, thread in calls} == {here}
    assert [kind for kind, _, _ in calls] == ["started", "finished"] * 4
    times = [now for _, now, _ in calls]
    assert times == sorted(times)  # replayed in order, with the times they happened


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Sequence[tuple[str, str]]
    body: bytes


@dataclass
class Ingress:
    """Stands for broker ingress: claims one host, answers with the thread it ran on."""

    threads: list[int] = field(default_factory=list)
    max_body: int = 1024

    def claims(self, host: bytes, path: bytes) -> bool:
        return host == b"broker-ingress.localhost"

    async def handle(
        self, method: bytes, path: bytes, headers: Sequence[tuple[bytes, bytes]], body: bytes
    ) -> LocalResponse:
        self.threads.append(threading.get_ident())
        await asyncio.sleep(0)  # it may await the broker's own work on its loop
        return Answer(202, [], b"")


def test_broker_ingress_answers_on_the_platform_loop() -> None:
    ingress = Ingress()

    async def scenario() -> None:
        gateway = ThreadedGateway(local_app=ingress)
        await gateway.start("127.0.0.1", 0)
        try:
            response = await asyncio.to_thread(get, gateway.port, "broker-ingress.localhost")
            assert response.status_code == 202
        finally:
            await gateway.stop(grace=1)

    run(scenario)
    assert ingress.threads == [threading.get_ident()]
