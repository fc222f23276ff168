"""A broker takes CloudEvents on the gateway's port and its triggers deliver them."""

import base64
import json

import httpx2
import pytest
from cloudevents.core.bindings import http as binding
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from tests.e2e.conftest import RunningPlatform
from tests.eventing.conftest import Subscriber, apply, broker, ready, trigger

pytestmark = pytest.mark.slow


def send(
    running: RunningPlatform, event: CloudEvent, *, structured: bool = False
) -> httpx2.Response:
    message = (binding.to_structured if structured else binding.to_binary)(event, JSONFormat())
    url = f"http://127.0.0.1:{running.platform.gateway.port}/default/default"
    return httpx2.post(url, headers=dict(message.headers), content=message.body, timeout=10)


def event(kind: str = "com.example.order", **extensions: str) -> CloudEvent:
    return CloudEvent({"type": kind, "source": "/tests", **extensions}, {"n": 1})


def test_an_event_sent_to_the_broker_reaches_the_trigger_s_subscriber(
    platform: RunningPlatform, subscriber: Subscriber
) -> None:
    kind = apply(platform, broker())
    found = platform.wait_for("default", ready, kind=kind)
    port = platform.platform.gateway.port
    address = f"http://broker-ingress.knative-eventing.localhost:{port}/default/default"
    assert found["status"]["address"]["url"] == address
    platform.wait_for("to-sub", ready, kind=apply(platform, trigger("to-sub", subscriber.url)))

    sent = event()
    assert send(platform, sent).status_code == 202
    assert send(platform, event(), structured=True).status_code == 202

    first = subscriber.wait(2)[0]
    assert first.headers["ce-id"] == sent.get_id()
    assert first.headers["ce-type"] == "com.example.order"
    assert "ce-knativearrivaltime" in first.headers
    assert "ce-knativebrokerttl" not in first.headers
    assert first.headers["prefer"] == "reply"
    assert json.loads(first.body) == {"n": 1}


def test_attributes_and_extensions_arrive_unchanged_percent_encoding_included(
    platform: RunningPlatform, subscriber: Subscriber
) -> None:
    platform.wait_for("default", ready, kind=apply(platform, broker()))
    platform.wait_for("all", ready, kind=apply(platform, trigger("all", subscriber.url)))
    attributes = {"type": "com.example.order", "source": "/tests", "subject": "Euro € 😀",
                  "myextension": "a value", "datacontenttype": "text/plain"}  # fmt: skip
    sent = CloudEvent(attributes, b"plain")

    assert send(platform, sent).status_code == 202

    got = subscriber.wait(1)[0]
    assert got.headers["ce-subject"] == "Euro%20%E2%82%AC%20%F0%9F%98%80"
    assert got.headers["ce-myextension"] == "a%20value"
    assert got.headers["content-type"] == "text/plain"
    assert got.body == b"plain"


def test_the_legacy_attribute_filter_chooses_what_a_trigger_gets(
    platform: RunningPlatform, subscriber: Subscriber
) -> None:
    platform.wait_for("default", ready, kind=apply(platform, broker()))
    spec = {"filter": {"attributes": {"type": "com.example.wanted"}}}
    platform.wait_for(
        "picky", ready, kind=apply(platform, trigger("picky", subscriber.url, **spec))
    )

    assert send(platform, event("com.example.other")).status_code == 202
    assert send(platform, event("com.example.wanted")).status_code == 202

    got = subscriber.wait(1)
    assert [r.headers["ce-type"] for r in got] == ["com.example.wanted"]


def test_the_filter_dialects_and_cesql_choose_what_a_trigger_gets(
    platform: RunningPlatform, subscriber: Subscriber
) -> None:
    platform.wait_for("default", ready, kind=apply(platform, broker()))
    filters = [
        {"prefix": {"type": "com.example."}},
        {"cesql": "region IN ('eu', 'uk') AND NOT (LENGTH(subject) > 5)"},
    ]
    platform.wait_for(
        "sql", ready, kind=apply(platform, trigger("sql", subscriber.url, filters=filters))
    )

    unwanted = [
        event("org.other.order", region="eu", subject="abc"),  # prefix fails
        event(region="us", subject="abc"),  # region fails
        event(region="eu", subject="too long"),  # NOT fails
        event(subject="abc"),  # no region: an evaluation error, which never matches
    ]
    for each in unwanted:
        assert send(platform, each).status_code == 202
    assert send(platform, event(region="uk", subject="ok")).status_code == 202

    got = subscriber.wait(1)
    assert [(r.headers["ce-region"], r.headers["ce-subject"]) for r in got] == [("uk", "ok")]


def test_a_failing_subscriber_is_retried_then_its_event_is_dead_lettered(
    platform: RunningPlatform, subscriber: Subscriber
) -> None:
    platform.wait_for("default", ready, kind=apply(platform, broker()))
    subscriber.answers = [(500, {}, b"down"), (503, {}, b"down"), (422, {}, b"no such order")]
    # the dead-letter sink is the same recorder under another path
    delivery = {"retry": 3, "backoffPolicy": "linear", "backoffDelay": "PT0.01S",
                "deadLetterSink": {"uri": subscriber.url + "dead"}}  # fmt: skip
    kind = apply(platform, trigger("flaky", subscriber.url, delivery=delivery))
    platform.wait_for("flaky", ready, kind=kind)

    assert send(platform, event()).status_code == 202

    got = subscriber.wait(4)
    assert len(got) == 4  # three attempts at the subscriber (422 is final), one dead letter
    dead_letter = got[3].headers
    assert dead_letter["ce-knativeerrorcode"] == "422"
    assert base64.b64decode(dead_letter["ce-knativeerrordata"]) == b"no such order"
    assert dead_letter["ce-knativeerrordest"] == subscriber.url
    assert got[3].headers.get("ce-id") == got[0].headers["ce-id"]


def test_a_reply_goes_back_into_the_broker(
    platform: RunningPlatform, subscriber: Subscriber
) -> None:
    platform.wait_for("default", ready, kind=apply(platform, broker()))
    reply = CloudEvent(
        {"type": "com.example.reply", "source": "/replier", "id": "r1"}, {"ok": True}
    )
    message = binding.to_binary(reply, JSONFormat())
    subscriber.answers = [(200, dict(message.headers), message.body)]
    platform.wait_for("all", ready, kind=apply(platform, trigger("all", subscriber.url)))

    assert send(platform, event()).status_code == 202

    got = subscriber.wait(2)
    assert [r.headers["ce-type"] for r in got] == ["com.example.order", "com.example.reply"]


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status"),
    [
        ("GET", "/default/default", {}, b"", 405),
        ("POST", "/default/nope", {"ce-specversion": "1.0"}, b"", 404),
        ("POST", "/default/default", {"ce-specversion": "1.0", "ce-id": "1"}, b"", 400),
        ("POST", "/default/default", {"content-type": "application/cloudevents+json"}, b"{", 400),
        ("OPTIONS", "/default/default", {}, b"", 200),
        ("POST", "/default/default", {"ce-specversion": "1.0"}, b"x" * (4 * 1024 * 1024 + 1), 413),
    ],
)
def test_ingress_refuses_what_knative_refuses(
    platform: RunningPlatform, method: str, path: str, headers: dict[str, str], body: bytes,
    status: int,
) -> None:  # fmt: skip
    platform.wait_for("default", ready, kind=apply(platform, broker()))
    port = platform.platform.gateway.port
    headers = {"host": f"broker-ingress.knative-eventing.localhost:{port}", **headers}
    response = httpx2.request(
        method, f"http://127.0.0.1:{port}{path}", headers=headers, content=body
    )
    assert response.status_code == status, response.text
    if method == "OPTIONS":
        assert response.headers["webhook-allowed-origin"] == "*"
