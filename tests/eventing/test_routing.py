"""Loops end, modes travel, statuses and metrics tell what happened."""

import json
import time

import httpx2
import pytest
from cloudevents.core.bindings import http as binding
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from prometheus_client import generate_latest

from tests.e2e.conftest import RunningPlatform
from tests.eventing.conftest import Subscriber, apply, broker, ready, trigger
from unkai.events import batch
from unkai.kube import kinds
from unkai.platform.contracts import NamespacedName

pytestmark = pytest.mark.slow


def ingress(running: RunningPlatform) -> str:
    return f"http://127.0.0.1:{running.platform.gateway.port}/default/default"


def order(number: int = 1) -> CloudEvent:
    return CloudEvent({"type": "com.example.order", "source": "/t", "id": f"o{number}"}, {"n": 1})


def settled(running: RunningPlatform, *, timeout: float = 30) -> None:
    """Wait until no trigger owes any event."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(running.platform.brokers.depths().values()):
            return
        time.sleep(0.02)
    raise AssertionError(f"still queued: {running.platform.brokers.depths()}")


def test_a_reply_loop_ends_when_the_broker_ttl_runs_out(
    platform: RunningPlatform, subscriber: Subscriber
) -> None:
    platform.wait_for("default", ready, kind=apply(platform, broker()))
    echo = binding.to_binary(order(), JSONFormat())  # the same event, replied forever
    subscriber.answers = [(200, dict(echo.headers), echo.body)] * 300
    platform.wait_for("loop", ready, kind=apply(platform, trigger("loop", subscriber.url)))
    message = binding.to_binary(order(), JSONFormat())

    response = httpx2.post(ingress(platform), headers=dict(message.headers), content=message.body)
    assert response.status_code == 202

    subscriber.wait(255, timeout=60)
    settled(platform)
    assert len(subscriber.received) == 255  # TTL 255 on ingress, one less per reply


def test_batched_events_are_each_delivered_and_format_json_sends_structured(
    platform: RunningPlatform, subscriber: Subscriber
) -> None:
    platform.wait_for("default", ready, kind=apply(platform, broker()))
    kind = apply(platform, trigger("structured", subscriber.url, delivery={"format": "json"}))
    platform.wait_for("structured", ready, kind=kind)

    body = batch.write([order(1), order(2), order(3)])
    headers = {"content-type": batch.CONTENT_TYPE}
    assert httpx2.post(ingress(platform), headers=headers, content=body).status_code == 202

    got = subscriber.wait(3)
    assert {r.headers["content-type"].split(";")[0] for r in got} == {
        "application/cloudevents+json"
    }
    assert sorted(json.loads(r.body)["id"] for r in got) == ["o1", "o2", "o3"]


def test_a_trigger_on_a_missing_broker_says_so_and_becomes_ready_with_it(
    platform: RunningPlatform, subscriber: Subscriber
) -> None:
    kind = apply(platform, trigger("early", subscriber.url, broker="later"))

    def broker_missing(obj: dict[str, object]) -> bool:
        conditions = (obj.get("status") or {}).get("conditions", [])  # type: ignore[union-attr]
        return any(c["type"] == "BrokerReady" and c.get("reason") == "BrokerDoesNotExist"
                   for c in conditions)  # fmt: skip

    platform.wait_for("early", broker_missing, kind=kind)
    platform.wait_for("later", ready, kind=apply(platform, broker("later")))
    found = platform.wait_for("early", ready, kind=kind)
    assert found["status"]["subscriberUri"] == subscriber.url


def test_metrics_count_accepted_delivered_and_dead_lettered_events(
    platform: RunningPlatform, subscriber: Subscriber
) -> None:
    platform.wait_for("default", ready, kind=apply(platform, broker()))
    subscriber.answers = [(202, {}, b""), (400, {}, b"bad")]
    delivery = {"retry": 0, "deadLetterSink": {"uri": subscriber.url + "dead"}}
    kind = apply(platform, trigger("counted", subscriber.url, delivery=delivery))
    platform.wait_for("counted", ready, kind=kind)
    for number in (1, 2):
        message = binding.to_binary(order(number), JSONFormat())
        headers = dict(message.headers)
        assert httpx2.post(ingress(platform), headers=headers, content=message.body).is_success
        subscriber.wait(number)  # one at a time, so the answers go in order
        settled(platform)

    text = generate_latest(platform.platform.registry).decode()
    assert 'unkai_broker_events_accepted_total{broker="default",namespace="default"} 2.0' in text
    labels = 'namespace="default",outcome="{}",trigger="counted"'
    assert f"unkai_trigger_events_total{{{labels.format('delivered')}}} 1.0" in text
    assert f"unkai_trigger_events_total{{{labels.format('dead_lettered')}}} 1.0" in text
    assert 'unkai_trigger_queue_depth{namespace="default",trigger="counted"} 0.0' in text


def test_events_owed_to_a_deleted_trigger_are_dropped(
    platform: RunningPlatform, subscriber: Subscriber
) -> None:
    platform.wait_for("default", ready, kind=apply(platform, broker()))
    subscriber.answers = [(503, {}, b"")] * 1000
    slow = {"retry": 100, "backoffPolicy": "linear", "backoffDelay": "PT1S"}
    kind = apply(platform, trigger("doomed", subscriber.url, delivery=slow))
    platform.wait_for("doomed", ready, kind=kind)
    message = binding.to_binary(order(), JSONFormat())
    httpx2.post(ingress(platform), headers=dict(message.headers), content=message.body)
    subscriber.wait(1)
    assert platform.platform.brokers.events  # kept while owed

    platform.client().delete(kinds.resource(kind), "doomed", namespace="default")
    deadline = time.monotonic() + 20
    brokers = platform.platform.brokers
    while NamespacedName("default", "doomed") in brokers.dispatchers or brokers.events:
        assert time.monotonic() < deadline, "the deleted trigger's event is still kept"
        time.sleep(0.02)
