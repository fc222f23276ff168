"""Sink binding: a function whose func.yaml names a broker as its sink is deployed with
K_SINK and K_CE_OVERRIDES, and `send_event` in it puts an event into that broker, where
a Trigger delivers it (extensions included). Deployed through `unkai.kube.deploy`, the
path `unkai deploy` takes, to a platform whose instances really run."""

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import LivePlatform, live  # noqa: F401 (fixture)
from tests.eventing.conftest import Subscriber, apply, broker, ready, trigger
from unkai.api.funcyaml import Sink
from unkai.kube import deploy, sinks
from unkai.kube.sinks import SinkNotReadyError
from unkai.runtime.sink import NoSinkError, SinkRefusedError, send_event

EMITTER = Path(__file__).parent / "functions" / "emitter"
RELAY = Path(__file__).parent / "functions" / "relay"


class Quiet:
    def step(self, activity: str) -> None: ...
    def waiting(self, what: str, elapsed: float) -> None: ...
    def done(self) -> None: ...
    def note(self, line: str) -> None: ...


@pytest.mark.slow
def test_a_function_sends_to_its_sink_broker_with_its_extensions_or_to_a_service(
    live: LivePlatform,  # noqa: F811
    subscriber: Subscriber,
    tmp_path: Path,
) -> None:
    function = deploy.prepare(EMITTER, Quiet())
    with pytest.raises(SinkNotReadyError, match="Broker default does not exist in namespace"):
        deploy.deploy(live.client(), function, Quiet(), deploy.Options(wait=False))
    found = live.wait_for("default", ready, kind=apply(live, broker()))
    live.wait_for("all", ready, kind=apply(live, trigger("all", subscriber.url)))

    service = deploy.deploy(live.client(), function, Quiet(), deploy.Options(timeout=60))
    env = {
        e["name"]: e["value"] for e in service["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["K_SINK"] == found["status"]["address"]["url"]
    assert env["K_CE_OVERRIDES"] == '{"extensions": {"team": "shop"}}'

    with live.http() as http:
        called = http.get("/orders", headers={"host": service["status"]["url"].split("//")[1]})
    assert called.text == "sink answered 202"
    arrived = subscriber.wait(1)[0]
    assert arrived.headers["ce-type"] == "com.example.emitted"
    assert arrived.headers["ce-source"] == "/emitter"
    assert arrived.headers["ce-team"] == "shop"
    assert json.loads(arrived.body) == {"path": "/orders"}

    # A Service sink: K_SINK is its cluster-local address (as Knative's), which the
    # function reaches through the platform's internal gateway. The relay answers an
    # event with its reply (200), where the broker said 202.
    relay = deploy.deploy(
        live.client(), deploy.prepare(RELAY, Quiet()), Quiet(), deploy.Options(timeout=60)
    )
    to_relay = tmp_path / "to-relay"
    to_relay.mkdir()
    (to_relay / "func.py").write_bytes((EMITTER / "func.py").read_bytes())
    (to_relay / "func.yaml").write_text(
        'specVersion: "1"\nname: to-relay\nsignature: http\nentrypoint: func:handle\n'
        "sink: {to: relay}\n"
    )
    emitter = deploy.deploy(
        live.client(), deploy.prepare(to_relay, Quiet()), Quiet(), deploy.Options(timeout=60)
    )
    container = emitter["spec"]["template"]["spec"]["containers"][0]
    sink = {e["name"]: e["value"] for e in container["env"]}["K_SINK"]
    assert sink == relay["status"]["address"]["url"] == "http://relay.default.svc.cluster.local"
    # A function outside the platform (`unkai run`) reaches the same Service by its URL.
    outside = sinks.environment(live.client(), Sink(to="relay"), namespace="default", outside=True)
    assert outside["K_SINK"] == relay["status"]["url"]
    with live.http() as http:
        called = http.get("/", headers={"host": emitter["status"]["url"].split("//")[1]})
    assert called.text == "sink answered 200"


def test_send_event_without_a_sink_says_how_to_bind_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("K_SINK", raising=False)
    with pytest.raises(NoSinkError, match=r"`unkai run` set it from func\.yaml's sink"):
        send_event("t", "/s")


def test_overrides_win_and_a_refusal_is_an_error_with_the_sink_s_answer(
    subscriber: Subscriber, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("K_SINK", subscriber.url)
    monkeypatch.setenv("K_CE_OVERRIDES", '{"extensions": {"team": "ops"}}')
    assert send_event("t", "/s", "hi", extensions={"team": "dev", "tier": 2}) == 202
    sent = subscriber.wait(1)[0]
    assert (sent.headers["ce-team"], sent.headers["ce-tier"]) == ("ops", "2")
    assert sent.headers["content-type"] == "text/plain; charset=utf-8"
    assert sent.body == b"hi"
    subscriber.answers.append((503, {}, b"full"))
    with pytest.raises(SinkRefusedError, match="answered 503: full"):
        send_event("t", "/s", b"\x00")


def test_a_cluster_local_sink_is_sent_through_the_internal_gateway_by_its_name(
    subscriber: Subscriber, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Service's address is cluster-local, so a func.yaml sink naming one gives such a
    K_SINK: on `unkai up` it goes to K_INTERNAL_GATEWAY (here the recorder stands in
    for it), which routes by the name in Host."""
    monkeypatch.setenv("K_SINK", "http://orders.default.svc.cluster.local")
    monkeypatch.setenv("K_INTERNAL_GATEWAY", subscriber.url.rstrip("/"))
    monkeypatch.delenv("K_CE_OVERRIDES", raising=False)
    assert send_event("com.example.t", "/s", {"n": 1}) == 202
    sent = subscriber.wait(1)[0]
    assert sent.headers["host"] == "orders.default.svc.cluster.local"
    assert sent.headers["ce-type"] == "com.example.t"
    assert json.loads(sent.body) == {"n": 1}
