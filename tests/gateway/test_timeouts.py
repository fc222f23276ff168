"""Per-revision timeouts with Knative's semantics, scaled down to keep the suite fast.

Knative's conformance (TestRevisionTimeout) uses timeoutSeconds 10: first byte after
12 s → 504, first byte at once then 15 s of streaming → 200. Here timeout 1 s: first
byte after 1.5 s → 504; first byte at once then 2 s of streaming → 200. The e2e
cases for ``responseStartTimeoutSeconds`` and ``idleTimeoutSeconds`` follow.
"""

from collections.abc import Callable

import httpx2
import pytest
from tests.gateway.conftest import RunningGateway
from tests.gateway.upstreams import Upstream


def routed(
    gw: RunningGateway, upstream: Callable[..., Upstream], kind: str, **settings: float
) -> str:
    gw.endpoints("hello-00001", upstream(kind))
    gw.configure("hello-00001", **settings)
    return gw.route("hello", {"hello-00001": 100})


def test_no_first_byte_within_the_timeout_is_504(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    host = routed(gw, upstream, "slow", timeout=1)  # when exactly: test_request_timing.py
    with gw.client(host) as client:
        response = client.get("/?delay=1.5")
        assert response.status_code == 504  # not the instance's 200, after 1.5 s
        assert response.text == "request timeout"
        # The connection stays usable.
        assert client.get("/?delay=0").status_code == 200


def test_a_started_response_outlives_the_timeout(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    host = routed(gw, upstream, "stream", timeout=1)
    with gw.client(host) as client:
        response = client.get("/?chunks=4&every=0.5")  # 2 s in all
    assert response.status_code == 200
    assert response.text == "first\n" + "chunk\n" * 4


def test_response_start_timeout(gw: RunningGateway, upstream: Callable[..., Upstream]) -> None:
    host = routed(gw, upstream, "slow", timeout=5, response_start_timeout=0.5)
    with gw.client(host) as client:
        assert client.get("/?delay=1").status_code == 504
        assert client.get("/?delay=0.1").status_code == 200


def test_idle_timeout_before_the_response_starts(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    host = routed(gw, upstream, "slow", timeout=5, idle_timeout=0.5)
    with gw.client(host) as client:
        assert client.get("/?delay=1").status_code == 504


def test_idle_timeout_spares_a_response_that_keeps_writing(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    host = routed(gw, upstream, "stream", timeout=5, idle_timeout=0.5)
    with gw.client(host) as client:
        response = client.get("/?chunks=5&every=0.2")
    assert response.status_code == 200
    assert response.text.count("chunk") == 5


def test_idle_timeout_cuts_a_stalled_response(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    host = routed(gw, upstream, "stream", timeout=5, idle_timeout=0.5)
    with gw.client(host) as client, client.stream("GET", "/?chunks=2&every=1") as response:
        assert response.status_code == 200
        with pytest.raises(httpx2.RemoteProtocolError):
            response.read()
