"""Host routing: weighted splits per request, tag hosts, the tag header, unknown hosts.

The HTTP checks are Knative's conformance ones (``MinSplitPercentage`` 0.25 of 200
requests per side of a 50/50 split, 100% for tag hosts); all requests of a split go
over one keep-alive connection, so a split that stuck to a connection would fail.
"""

from collections import Counter
from collections.abc import Callable

import httpx2
import pytest
from tests.gateway.conftest import NS, RunningGateway
from tests.gateway.upstreams import Upstream

from unkai.platform.contracts import RoutingTable
from unkai.platform.gateway.routing import normalise_host


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (b"hello.default.localhost", b"hello.default.localhost"),
        (b"Hello.Default.LOCALHOST:8080", b"hello.default.localhost"),
        (b"hello.default.localhost.", b"hello.default.localhost"),
        (b"[::1]:8080", b"[::1]"),
        (b"", b""),
    ],
)
def test_host_normalisation(value: bytes, key: bytes) -> None:
    assert normalise_host(value) == key


@pytest.fixture
def blue_green(gw: RunningGateway, upstream: Callable[..., Upstream]) -> tuple[RunningGateway, str]:
    gw.endpoints("hello-00001", upstream("echo", "blue"))
    gw.endpoints("hello-00002", upstream("echo", "green"))
    host = gw.route(
        "hello",
        {"hello-00001": 50, "hello-00002": 50},
        tags={"blue": "hello-00001", "green": "hello-00002"},
    )
    return gw, host


def names(client: httpx2.Client, count: int, **options: object) -> Counter[str]:
    seen: Counter[str] = Counter()
    for _ in range(count):
        response = client.get("/", **options)  # type: ignore[arg-type]
        assert response.status_code == 200, response.text
        seen[response.json()["name"]] += 1
    return seen


def test_a_split_is_decided_per_request(blue_green: tuple[RunningGateway, str]) -> None:
    gw, host = blue_green
    with gw.client(host) as client:
        seen = names(client, 200)
    assert seen["blue"] >= 50
    assert seen["green"] >= 50


def test_tag_hosts_reach_their_revision_only(blue_green: tuple[RunningGateway, str]) -> None:
    gw, host = blue_green
    with gw.client(f"green-{host}:{gw.gateway.port}") as client:
        assert names(client, 50) == {"green": 50}
    with gw.client(f"blue-{host}") as client:
        assert names(client, 50) == {"blue": 50}


def test_tag_header_is_ignored_unless_enabled(blue_green: tuple[RunningGateway, str]) -> None:
    gw, host = blue_green
    with gw.client(host) as client:
        assert len(names(client, 60, headers={"Knative-Serving-Tag": "green"})) == 2


def test_tag_header_routes_when_enabled(
    start_gateway: Callable[..., RunningGateway], upstream: Callable[..., Upstream]
) -> None:
    gw = start_gateway(tag_header_routing=True)
    gw.endpoints("hello-00001", upstream("echo", "blue"))
    gw.endpoints("hello-00002", upstream("echo", "green"))
    host = gw.route("hello", {"hello-00001": 50, "hello-00002": 50}, tags={"green": "hello-00002"})
    with gw.client(host) as client:
        assert names(client, 30, headers={"Knative-Serving-Tag": "green"}) == {"green": 30}
        # An unknown tag falls back to the main route.
        assert len(names(client, 60, headers={"Knative-Serving-Tag": "purple"})) == 2


def test_unknown_host_gets_404_naming_only_the_host_asked_for(
    blue_green: tuple[RunningGateway, str],
) -> None:
    gw, host = blue_green
    with gw.client("nope.default.localhost") as client:
        response = client.get("/")
    assert response.status_code == 404
    assert "'nope.default.localhost'" in response.text
    assert host not in response.text  # other services are not the caller's to see
    assert "curl -H 'Host: nope.default.localhost' http://127.0.0.1:" in response.text
    assert "see why with: unkai describe nope -n default" in response.text


def test_a_removed_tag_gets_404_naming_its_service(
    blue_green: tuple[RunningGateway, str],
) -> None:
    gw, host = blue_green
    gw.route("hello", {"hello-00001": 100})  # the tags are gone
    with gw.client(f"green-{host}") as client:
        response = client.get("/")
    assert response.status_code == 404
    assert "Service hello in default has no tag 'green'" in response.text
    assert "unkai describe hello -n default" in response.text
    assert "green-hello -n" not in response.text


def test_route_changes_apply_to_the_next_request(blue_green: tuple[RunningGateway, str]) -> None:
    gw, host = blue_green
    table = RoutingTable(host=host, split=(("hello-00002", 100),))
    gw.call(gw.gateway.set_route, NS, table)
    assert gw.call(gw.gateway.programmed, host) == table
    with gw.client(host) as client:
        assert names(client, 20) == {"green": 20}
        gw.call(gw.gateway.remove_route, host)
        assert client.get("/").status_code == 404
    assert gw.call(gw.gateway.programmed, host) is None
