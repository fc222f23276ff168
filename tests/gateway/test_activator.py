"""The activator: requests for a revision with no ready instance are held, not failed.

Held requests are served as soon as an endpoint appears, the autoscaler hears of the
first one at once (``on_cold_request``), they time out with 504 after the revision's
``timeoutSeconds``, and past the cap (``max_held``, 10,000 by default) they get 503;
when their revision is deleted they get 503 at once.
"""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx2
from tests.gateway.conftest import NS, RunningGateway, wait_for
from tests.gateway.upstreams import Upstream

from unkai.platform.contracts import RevisionKey

COLD = RevisionKey(NS, "hello-00001")


def held(gw: RunningGateway) -> int:
    stats = gw.call(gw.gateway.stats, COLD)
    return stats.held if stats else 0


def test_held_requests_are_served_once_an_instance_is_ready(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    host = gw.route("hello", {"hello-00001": 100})
    with ThreadPoolExecutor(3) as pool, gw.client(host) as client:
        pending = [pool.submit(client.post, "/", content=b"body") for _ in range(3)]
        wait_for(lambda: held(gw) == 3)
        assert gw.cold == [COLD]  # at once, and once for the cold period
        stats = gw.call(gw.gateway.stats, COLD)
        assert stats is not None
        assert stats.in_flight == 3  # the autoscaler sees demand on a cold revision
        gw.endpoints("hello-00001", upstream("echo"))
        responses = [future.result(5) for future in pending]
    assert [response.status_code for response in responses] == [200] * 3
    assert all(response.json()["body"] == 4 for response in responses)
    assert held(gw) == 0
    assert gw.cold == [COLD]


def test_held_requests_time_out_with_504(gw: RunningGateway) -> None:
    # When exactly: test_request_timing.py, on a fake clock.
    host = gw.route("hello", {"hello-00001": 100})
    gw.configure("hello-00001", timeout=0.5)
    with gw.client(host) as client:
        response = client.get("/")
    assert response.status_code == 504
    assert response.text == "activator request timeout"
    assert held(gw) == 0


def test_past_the_cap_requests_get_503(start_gateway: Callable[..., RunningGateway]) -> None:
    gw = start_gateway(max_held=2)
    host = gw.route("hello", {"hello-00001": 100})
    gw.configure("hello-00001", timeout=2)
    with ThreadPoolExecutor(2) as pool, gw.client(host) as client:
        pending = [pool.submit(client.get, "/") for _ in range(2)]
        wait_for(lambda: held(gw) == 2)
        with gw.client(host) as other:
            response = other.get("/")
        assert response.status_code == 503
        assert response.text == "pending request queue full"
        assert [future.result(5).status_code for future in pending] == [504, 504]


def test_a_client_leaving_withdraws_its_held_request(gw: RunningGateway) -> None:
    host = gw.route("hello", {"hello-00001": 100})
    done = threading.Event()

    def give_up() -> None:
        with gw.client(host, timeout=0.3) as client:
            try:
                client.get("/")
            except httpx2.ReadTimeout:
                done.set()

    thread = threading.Thread(target=give_up)
    thread.start()
    thread.join(5)
    assert done.is_set()
    wait_for(lambda: held(gw) == 0)
    stats = gw.call(gw.gateway.stats, COLD)
    assert stats is not None
    assert stats.in_flight == 0


def test_held_requests_of_a_deleted_revision_get_503_at_once(gw: RunningGateway) -> None:
    host = gw.route("hello", {"hello-00001": 100})
    gw.configure("hello-00001", timeout=30)
    with ThreadPoolExecutor(2) as pool, gw.client(host) as client:
        pending = [pool.submit(client.get, "/") for _ in range(2)]
        wait_for(lambda: held(gw) == 2)
        gw.call(gw.gateway.remove_route, host)
        gw.call(gw.gateway.forget_revision, COLD)
        responses = [future.result(5) for future in pending]  # not after the 30 s timeout
    assert [r.status_code for r in responses] == [503, 503]
    assert responses[0].text == "the revision this request was waiting for was deleted"
