"""Requests through the whole platform: gateway, activator, autoscaler, real instances.

Aspects: a deployed function serves at its URL with the runtime contract's env and the
gateway's forwarded headers; a 50/50 split gives each side at least 25% of 200
requests and a tag URL hits its revision every time; containerConcurrency 1 never lets
an instance see two requests at once; Knative's timeout conformance (timeoutSeconds
10: no first byte for 12 s is a 504, a first byte at once then 15 s of streaming is a
200); an idle revision scales to zero and the next request is held and served; a
crashing instance shows in the revision's conditions; an update under a background
prober loses no request.
"""

import ssl
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2

from tests.e2e.conftest import LivePlatform
from tests.support.processes import revision_processes
from unkai.kube import kinds
from unkai.platform.contracts import RevisionKey

HOST = "hello.default.localhost"


def is_ready(service: dict[str, Any]) -> bool:
    conditions = service.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def ready_at(live: LivePlatform, revision: str) -> dict[str, Any]:
    return live.wait_for(
        "hello",
        lambda s: is_ready(s) and s["status"].get("latestReadyRevisionName") == revision,
    )


def test_serves_with_env_and_forwarded_headers(live: LivePlatform) -> None:
    live.deploy("hello", target="blue")
    ready_at(live, "hello-00001")
    with live.http() as http:
        answer = http.get("/", headers={"Host": HOST, "X-Custom": "kept as is"}).json()
    assert answer["target"] == "blue"
    assert (answer["revision"], answer["service"]) == ("hello-00001", "hello")
    headers = answer["headers"]
    assert headers["x-custom"] == "kept as is"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == HOST
    assert "127.0.0.1" in headers["x-forwarded-for"]
    assert "for=" in headers["forwarded"]
    assert "proto=http" in headers["forwarded"]
    assert headers["traceparent"].startswith("00-")


def test_split_and_tags(live: LivePlatform) -> None:
    live.deploy("hello", target="blue")
    ready_at(live, "hello-00001")
    live.deploy(
        "hello", target="green",
        traffic=[
            {"revisionName": "hello-00001", "percent": 50, "tag": "blue"},
            {"latestRevision": True, "percent": 50, "tag": "green"},
        ],
    )  # fmt: skip
    live.wait_for(
        "hello", lambda s: len(s.get("status", {}).get("traffic", [])) == 2 and is_ready(s)
    )
    with live.http() as http, ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: http.get("/", headers={"Host": HOST}).json()["target"], range(200))
        )
        tagged = [
            http.get("/", headers={"Host": "green-hello.default.localhost"}).json()["target"]
            for _ in range(30)
        ]
    counts = Counter(answers)
    assert counts["blue"] >= 50, counts  # at least 25% each (Knative's conformance bound)
    assert counts["green"] >= 50, counts
    assert set(tagged) == {"green"}


def test_container_concurrency_one_is_never_exceeded(live: LivePlatform) -> None:
    live.deploy("hello", target="solo", spec={"containerConcurrency": 1})
    ready_at(live, "hello-00001")
    with live.http() as http, ThreadPoolExecutor(5) as pool:
        codes = list(
            pool.map(
                lambda _: http.get("/exclusive?ms=30", headers={"Host": HOST}).status_code,
                range(60),
            )
        )
    assert set(codes) == {200}


def test_timeout_counts_until_the_first_byte(live: LivePlatform) -> None:
    live.deploy("hello", target="timed", spec={"timeoutSeconds": 10})
    ready_at(live, "hello-00001")

    def get(path: str) -> tuple[int, str, float]:
        started = time.monotonic()
        with live.http() as http:
            response = http.get(path, headers={"Host": HOST})
        return response.status_code, response.text, time.monotonic() - started

    with ThreadPoolExecutor(2) as pool:  # both at once: 15 s, not 25
        late = pool.submit(get, "/late?s=12")
        streamed = pool.submit(get, "/stream?s=15")
        status, _, took = late.result()
        assert status == 504
        assert 9.5 < took < 12
        status, text, took = streamed.result()
        assert status == 200
        assert text == "started\n" + "still going\n" * 15
        assert took > 14.5


def test_revision_status_counts_its_instances(live: LivePlatform) -> None:
    live.deploy("hello", target="pair", annotations={"autoscaling.knative.dev/min-scale": "2"})
    revision = live.wait_for(
        "hello-00001",
        lambda r: (
            (r.get("status", {}).get("actualReplicas"), r.get("status", {}).get("desiredReplicas"))
            == (2, 2)
        ),
        kind=kinds.REVISION,
    )
    assert revision["metadata"]["name"] == "hello-00001"


def test_scales_to_zero_and_back(live: LivePlatform) -> None:
    live.deploy("hello", target="sleepy")
    ready_at(live, "hello-00001")
    data_plane = live.platform.data_plane
    assert data_plane is not None
    deadline = time.monotonic() + 30
    while data_plane.ready(("default", "hello-00001")) > 0:
        assert time.monotonic() < deadline, "never scaled to zero"
        time.sleep(0.1)
    live.wait_for("hello-00001", lambda r: active(r) == ("False", 0), kind=kinds.REVISION)
    with live.http() as http:
        response = http.get("/", headers={"Host": HOST})
    assert response.status_code == 200
    assert response.json()["target"] == "sleepy"
    assert data_plane.ready(("default", "hello-00001")) == 1
    live.wait_for("hello-00001", lambda r: active(r) == ("True", 1), kind=kinds.REVISION)


def active(revision: dict[str, Any]) -> tuple[str, int]:
    """The revision's Active condition and actualReplicas, as kubectl shows them."""
    status = revision.get("status", {})
    found = [c["status"] for c in status.get("conditions", []) if c["type"] == "Active"]
    return (found[0] if found else ""), status.get("actualReplicas", -1)


def test_crash_shows_in_status_and_the_instance_comes_back(live: LivePlatform) -> None:
    live.deploy("hello", target="fragile", annotations={"autoscaling.knative.dev/min-scale": "1"})
    ready_at(live, "hello-00001")
    with live.http() as http:
        http.get("/crash", headers={"Host": HOST})  # the instance dies mid-request

    def healthy(revision: dict[str, Any]) -> dict[str, Any]:
        conditions = revision.get("status", {}).get("conditions", [])
        return next((c for c in conditions if c["type"] == "ContainerHealthy"), {})

    crashed = live.wait_for(
        "hello-00001", lambda r: healthy(r).get("reason") == "ExitCode3", kind=kinds.REVISION
    )
    assert "exit code 3" in healthy(crashed)["message"]
    live.wait_for("hello-00001", lambda r: healthy(r).get("status") == "True", kind=kinds.REVISION)
    with live.http() as http:
        assert http.get("/", headers={"Host": HOST}).json()["target"] == "fragile"


def test_rollout_under_a_prober_loses_nothing(live: LivePlatform) -> None:
    live.deploy("hello", target="v1")
    ready_at(live, "hello-00001")
    failures: list[str] = []
    seen: Counter[str] = Counter()
    stop = threading.Event()

    def probe() -> None:
        with live.http() as http:
            while not stop.is_set():
                try:
                    response = http.get("/", headers={"Host": HOST})
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text[:80]}")
                    else:
                        seen[response.json()["target"]] += 1
                except httpx2.HTTPError as error:
                    failures.append(repr(error))

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        deadline = time.monotonic() + 10
        while not seen["v1"] and not failures:  # the prober is under way
            assert time.monotonic() < deadline, "the prober got no answer"
            time.sleep(0.01)
        live.deploy("hello", target="v2")
        ready_at(live, "hello-00002")
        deadline = time.monotonic() + 10
        while seen["v2"] < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        prober.join(10)
    assert failures == []
    assert seen["v1"] > 0
    assert seen["v2"] > 0


def test_metrics_of_every_part_on_one_endpoint(live: LivePlatform) -> None:
    live.deploy("hello", target="counted")
    ready_at(live, "hello-00001")
    with live.http() as http:
        for _ in range(3):
            assert http.get("/", headers={"Host": HOST}).status_code == 200
    api = live.platform.api
    assert api.certificate is not None
    token = live.platform.files.token()
    trust = ssl.create_default_context(cafile=str(api.certificate.ca_file))
    authorized = {"Authorization": f"Bearer {token}"}
    with httpx2.Client(verify=trust) as client:
        unauthenticated = client.get(f"{api.url}/metrics")
        text = client.get(f"{api.url}/metrics", headers=authorized).text
    assert unauthenticated.status_code == 401
    revision = 'revision="hello-00001"'
    lines = text.splitlines()
    for family in (
        "unkai_revision_cold_start_seconds_count",  # per revision: cold starts,
        "unkai_autoscaler_desired_pods",  # desired and ready instances,
        "unkai_autoscaler_ready_pods",
        "unkai_gateway_requests",  # requests, latency, in flight, held
        "unkai_gateway_request_duration_seconds_bucket",
        "unkai_gateway_requests_in_flight",
        "unkai_gateway_requests_held",
    ):
        assert any(line.startswith(family) and revision in line for line in lines), family
    assert any(line.startswith("unkai_apiserver_requests_total") for line in lines)

    live.client().delete(kinds.resource(kinds.SERVICE), "hello", namespace="default")
    deadline = time.monotonic() + 30
    with httpx2.Client(verify=trust) as client:  # a deleted revision's series go with it
        while revision in client.get(f"{api.url}/metrics", headers=authorized).text:
            assert time.monotonic() < deadline, "a deleted revision is still in the metrics"
            time.sleep(0.2)


def test_a_revision_no_route_reaches_lets_go_of_its_processes(live: LivePlatform) -> None:
    live.deploy("hello", target="old")
    ready_at(live, "hello-00001")
    data_dir = str(live.platform.settings.data_dir)
    assert revision_processes("hello-00001", data_dir=data_dir) != []
    live.deploy("hello", target="new")
    ready_at(live, "hello-00002")
    deadline = time.monotonic() + 30
    while revision_processes("hello-00001", data_dir=data_dir):
        assert time.monotonic() < deadline, "hello-00001's processes outlived its traffic"
        time.sleep(0.1)
    assert revision_processes("hello-00002", data_dir=data_dir) != []


def test_deleting_a_draining_service_holds_up_no_other_revision(live: LivePlatform) -> None:
    """Deleting a Service drains its in-flight requests (up to ``timeoutSeconds``) while
    revisions created meanwhile start at once; before, the drain was awaited in the loop
    that hands every revision to the data plane."""
    live.deploy("slow", target="slow", spec={"timeoutSeconds": 120})
    live.wait_for("slow", is_ready)
    gateway = live.platform.gateway
    key = RevisionKey("default", "slow-00001")
    with ThreadPoolExecutor(1) as pool, live.http() as http:
        host = {"Host": "slow.default.localhost"}
        late = pool.submit(http.get, "/late", params={"s": "60"}, headers=host, timeout=90)
        deadline = time.monotonic() + 30
        while (stats := gateway.stats(key)) is None or stats.in_flight == 0:
            assert time.monotonic() < deadline, "the long request never reached slow"
            time.sleep(0.05)
        live.client().delete(kinds.resource(kinds.SERVICE), "slow", namespace="default")
        live.deploy("hello", target="new")
        ready_at(live, "hello-00001")  # within wait_for's 30 s, while slow still drains
        assert not late.done()
        assert late.result(90).text == "late"  # and the draining request was served
