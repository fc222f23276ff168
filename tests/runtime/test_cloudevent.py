"""The ``cloudevent`` signature, driven by the official CloudEvents SDK as the client.

Aspects: a reply comes back in the mode of the request (binary, structured, batch);
an event the function returns as it got it comes back to the SDK as the SDK sent it, in
each mode, with extensions and JSON, text, binary or no data, specversion 0.3 too;
``None`` is 202 with no body (for a batch, only the non-None replies come back, and
202 when there are none); the signature is detected from the CloudEvent annotation;
a request that is not a valid CloudEvent is 400 with the reason; a method other than
POST is 405; an exception is a 500 with an error id.
"""

import json
from collections.abc import Callable, Iterator

import httpx2
import pytest
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import http as binding
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v03.event import CloudEvent as CloudEventV03
from cloudevents.core.v1.event import CloudEvent
from tests.support.servers import Serve

BATCH = "application/cloudevents-batch+json"
REQUIRED = {"ce-specversion": "1.0", "ce-id": "1", "ce-type": "t", "ce-source": "/s"}


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


MIRROR = {"type": "com.example.mirror", "source": "/tests", "subject": "sub ject/ü"}
# (extensions, datacontenttype, data): what a function gets back as it was sent.
KINDS = {
    "json": ({"traceparent": "00-1-2-01"}, "application/json", {"n": [1, "ü", None]}),
    "text": ({"partition": "p 7%"}, "text/plain; charset=utf-8", "hello, ü"),
    "binary": ({}, "application/octet-stream", b"\x00\xff\xfe"),
    "no data": ({"knativearrivaltime": "2026-12-05T10:00:00Z"}, None, None),
}


def mirrored(attributes: dict[str, object], data: object) -> CloudEvent:
    return CloudEvent({k: v for k, v in attributes.items() if v is not None}, data)  # type: ignore[arg-type]


@pytest.mark.parametrize("to_message", [binding.to_binary_event, binding.to_structured_event])
@pytest.mark.parametrize("kind", KINDS)
def test_an_event_returned_as_it_came_is_what_the_sdk_sent(
    client: httpx2.Client, to_message: Callable[[CloudEvent], binding.HTTPMessage], kind: str
) -> None:
    extensions, content_type, data = KINDS[kind]
    sent = mirrored({**MIRROR, **extensions, "datacontenttype": content_type}, data)
    response = post(client, to_message(sent))
    assert response.status_code == 200
    structured = response.headers.get("content-type", "").startswith("application/cloudevents+json")
    assert structured == (to_message is binding.to_structured_event)
    reply = received(response)
    assert reply.get_attributes() == sent.get_attributes()
    assert reply.get_data() == sent.get_data()


def test_integer_and_boolean_extensions_keep_their_types_in_structured_mode(
    client: httpx2.Client,
) -> None:
    sent = mirrored({**MIRROR, "retries": 3, "sampled": True}, {"n": 1})
    reply = received(post(client, binding.to_structured_event(sent)))
    assert (reply.get_extension("retries"), reply.get_extension("sampled")) == (3, True)


def test_a_batch_returned_as_it_came_is_what_the_sdk_sent(client: httpx2.Client) -> None:
    sent = [mirrored(MIRROR, {"n": 1}), mirrored(MIRROR, b"\xff"), mirrored(MIRROR, None)]
    response = client.post("/", content=batch_body(*sent), headers={"content-type": BATCH})
    assert response.status_code == 200
    replies = [JSONFormat().read(None, json.dumps(item)) for item in response.json()]
    assert [(r.get_attributes(), r.get_data()) for r in replies] == [
        (s.get_attributes(), s.get_data()) for s in sent
    ]


@pytest.mark.parametrize("to_message", [binding.to_binary_event, binding.to_structured_event])
def test_specversion_0_3_is_taken_and_answered_in_0_3(
    client: httpx2.Client, to_message: Callable[[CloudEventV03], binding.HTTPMessage]
) -> None:
    sent = CloudEventV03({**MIRROR, "datacontenttype": "application/json"}, {"n": 3})
    reply = received(post(client, to_message(sent)))
    assert isinstance(reply, CloudEventV03)
    assert (reply.get_attributes(), reply.get_data()) == (sent.get_attributes(), {"n": 3})


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
        ({**REQUIRED, "ce-subject": ""}, b"", "subject must not be empty"),
        (
            {**REQUIRED, "ce-time": "2026-12-05T10:00:00"},
            b"",
            "time '2026-12-05T10:00:00' is not an RFC 3339",
        ),
        ({**REQUIRED, "ce-time": "yesterday"}, b"", "time 'yesterday' is not an RFC 3339"),
        ({**REQUIRED, "ce-specversion": "2.0"}, b"", "specversion '2.0' is not supported"),
        ({**REQUIRED, "ce-data": "x"}, b"", "data is reserved"),
        ({**REQUIRED, "ce-Bad_Name": "x"}, b"", "attribute name 'bad_name'"),
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
