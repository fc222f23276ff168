"""The ``cloudevent`` signature, driven by the official CloudEvents SDK as the client.

Aspects: a reply comes back in the mode of the request (binary, structured, batch);
``None`` is 202 with no body (for a batch, only the non-None replies come back, and
202 when there are none); the signature is detected from the CloudEvent annotation;
a request that is not a valid CloudEvent is 400 with the reason; a method other than
POST is 405; an exception is a 500 with an error id.
"""

import json
from collections.abc import Iterator

import httpx2
import pytest
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import http as binding
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from tests.support.servers import Serve

BATCH = "application/cloudevents-batch+json"


@pytest.fixture(scope="module")
def client(serve_shared: Serve) -> Iterator[httpx2.Client]:
    server = serve_shared("cloudevent_echo")
    with httpx2.Client(base_url=server.url) as client:
        yield client


def event(kind: str = "com.example.ping", data: object = None) -> CloudEvent:
    return CloudEvent(
        {"type": kind, "source": "/tests", "datacontenttype": "application/json"},
        data if data is not None else {"n": 1},
    )


def post(client: httpx2.Client, message: binding.HTTPMessage) -> httpx2.Response:
    return client.post("/", headers=message.headers, content=message.body)


def received(response: httpx2.Response) -> BaseCloudEvent:
    return binding.from_http_event(binding.HTTPMessage(dict(response.headers), response.content))


def batch_body(*events: CloudEvent) -> bytes:
    return json.dumps([json.loads(JSONFormat().write(e)) for e in events]).encode()


def test_binary_in_binary_out(client: httpx2.Client) -> None:
    ping = event()
    response = post(client, binding.to_binary_event(ping))
    assert response.status_code == 200
    assert response.headers["ce-type"] == "com.example.pong"
    reply = received(response)
    assert reply.get_data() == {"in_reply_to": ping.get_id(), "got": {"n": 1}}


def test_structured_in_structured_out(client: httpx2.Client) -> None:
    ping = event(data={"n": 2})
    response = post(client, binding.to_structured_event(ping))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/cloudevents+json")
    assert "ce-type" not in response.headers
    reply = received(response)
    assert reply.get_type() == "com.example.pong"
    assert reply.get_data() == {"in_reply_to": ping.get_id(), "got": {"n": 2}}


def test_batch_in_batch_out_with_only_the_replies(client: httpx2.Client) -> None:
    first, ignored, last = event(data={"n": 1}), event("com.example.ignore"), event(data={"n": 3})
    response = client.post(
        "/", content=batch_body(first, ignored, last), headers={"content-type": BATCH}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == BATCH
    replies = [JSONFormat().read(None, json.dumps(item)) for item in response.json()]
    assert [r.get_data()["in_reply_to"] for r in replies] == [first.get_id(), last.get_id()]  # type: ignore[index]


def test_no_reply_is_202_accepted_in_every_mode(client: httpx2.Client) -> None:
    ignored = event("com.example.ignore")
    for message in (binding.to_binary_event(ignored), binding.to_structured_event(ignored)):
        response = post(client, message)
        assert (response.status_code, response.content) == (202, b"")
    for body in (batch_body(ignored), b"[]"):
        response = client.post("/", content=body, headers={"content-type": BATCH})
        assert (response.status_code, response.content) == (202, b"")


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ({"content-type": "application/json"}, b'{"n": 1}', "no ce-specversion header"),
        (
            {"ce-specversion": "1.0", "ce-id": "1", "ce-type": "t"},
            b"",
            "missing required ce-source",
        ),
        ({"content-type": "application/cloudevents+json"}, b"{not json", "invalid CloudEvent"),
        (
            {"content-type": "application/cloudevents+json"},
            b'{"specversion": "1.0"}',
            "missing required id, source, type",
        ),
        ({"content-type": BATCH}, b'[{"specversion": "1.0", "type": "t"}]', "item 0: missing"),
        ({"content-type": BATCH}, b'{"not": "an array"}', "must be a JSON array"),
        ({"content-type": "application/cloudevents+avro"}, b"\x00", "only JSON"),
    ],
)
def test_not_a_cloudevent_is_400_with_the_reason(
    client: httpx2.Client, headers: dict[str, str], body: bytes, reason: str
) -> None:
    response = client.post("/", headers=headers, content=body)
    assert response.status_code == 400
    assert reason in response.text


def test_methods_other_than_post_are_405(client: httpx2.Client) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = client.request(method, "/")
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"


def test_an_exception_in_the_function_is_500_with_an_error_id(client: httpx2.Client) -> None:
    response = post(client, binding.to_binary_event(event("com.example.boom")))
    assert response.status_code == 500
    assert "error id" in response.text
    assert "boom" not in response.text
