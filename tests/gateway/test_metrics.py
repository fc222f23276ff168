"""Counters: exact ones for the autoscaler, Prometheus ones in the registry passed in."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from prometheus_client import generate_latest
from tests.gateway.conftest import NS, RunningGateway, wait_for
from tests.gateway.upstreams import Upstream

from unkai.platform.contracts import RevisionKey
from unkai.platform.gateway import RevisionStats

KEY = RevisionKey(NS, "hello-00001")


def test_prometheus_metrics_per_revision(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    gw.endpoints("hello-00001", upstream("slow"))
    host = gw.route("hello", {"hello-00001": 100})
    with gw.client(host) as client:
        for _ in range(3):
            assert client.get("/").status_code == 200
    with gw.client("nope.default.localhost") as client:
        assert client.get("/").status_code == 404  # no revision: not counted
    text = generate_latest(gw.registry).decode()
    labels = 'namespace="default",revision="hello-00001"'
    assert f'unkai_gateway_requests_total{{code_class="2xx",{labels}}} 3.0' in text
    assert f"unkai_gateway_request_duration_seconds_count{{{labels}}} 3.0" in text
    assert f'unkai_gateway_request_duration_seconds_bucket{{le="+Inf",{labels}}} 3.0' in text
    assert f"unkai_gateway_requests_in_flight{{{labels}}} 0.0" in text
    assert f"unkai_gateway_requests_held{{{labels}}} 0.0" in text
    assert f"unkai_gateway_ready_instances{{{labels}}} 1.0" in text


def test_the_autoscaler_hears_of_every_request(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    host = gw.route("hello", {"hello-00001": 100})
    stats = gw.call(gw.gateway.stats, KEY)
    assert isinstance(stats, RevisionStats)
    with ThreadPoolExecutor(2) as pool, gw.client(host) as client:
        futures = [pool.submit(client.get, "/?delay=0.3") for _ in range(2)]
        wait_for(lambda: stats.in_flight == 2)  # held (cold) requests count
        meter = gw.meters[KEY]
        assert len(meter.started_at) == 2
        assert meter.finished_at == []
        gw.endpoints("hello-00001", upstream("slow"))
        assert [future.result(5).status_code for future in futures] == [200, 200]
    assert (stats.requests, stats.in_flight, stats.held) == (2, 0, 0)
    assert len(meter.finished_at) == 2
    # At the end of the response, after the instance's 0.3 s (held time included:
    # test_request_timing.py, on a fake clock).
    for started, finished in zip(meter.started_at, sorted(meter.finished_at), strict=True):
        assert finished - started >= 0.3
