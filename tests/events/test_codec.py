"""The lean codec against the official SDK, both ways: what the SDK encodes, the codec
decodes to the same attributes and data; what the codec encodes, the SDK decodes to the
same. In binary, structured and batched mode, for JSON, text and binary data, with
extensions of every type and values that need percent-encoding. Then what a receiver
must refuse, and what the SDK does that the codec deliberately does not."""

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import http as binding
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from unkai.events import codec
from unkai.events.attributes import as_string
from unkai.events.http import InvalidEventError, Mode

FORMAT = JSONFormat()
TIME = datetime(2026, 12, 5, 10, 0, 0, 123000, tzinfo=UTC)
BASE = {"type": "com.example.order", "source": "/shop/eu", "id": "order-1", "time": TIME}

CASES: list[tuple[str, dict[str, Any], Any]] = [
    ("json object", {"datacontenttype": "application/json"}, {"n": 1, "s": "é", "l": [1, 2]}),
    ("json, no content type", {}, {"n": 1}),
    ("cloudevents+json-ish type", {"datacontenttype": "application/vnd.x+json"}, [1, 2]),
    ("text", {"datacontenttype": "text/plain; charset=utf-8"}, "Grüße, 100%"),
    ("binary", {"datacontenttype": "application/octet-stream"}, b"\x00\x01\xfe\xff"),
    ("no data", {}, None),
    ("extensions and optional attributes",
     {"subject": "Euro € 😀 \"quoted\" 50%", "dataschema": "https://x/s", "region": "eu",
      "priority": 7, "urgent": True, "datacontenttype": "application/json"}, {"ok": True}),
]  # fmt: skip


def sdk_event(attributes: dict[str, Any], data: Any) -> CloudEvent:
    return CloudEvent({**BASE, **attributes}, data)


def same(lean: codec.Event, sdk: BaseCloudEvent) -> None:
    """The two events say the same: every attribute in canonical string form (the
    binary mode keeps no types), and the data as bytes."""
    ours = {name: as_string(value) for name, value in lean.get_attributes().items()}
    theirs = {name: as_string(value) for name, value in sdk.get_attributes().items()}
    if ours.get("time") and theirs.get("time"):  # same instant, written either way
        ours["time"] = str(datetime.fromisoformat(ours["time"]).timestamp())
        theirs["time"] = str(datetime.fromisoformat(theirs["time"]).timestamp())
    assert ours == theirs
    data = sdk.get_data()
    if isinstance(data, dict | list) or (isinstance(data, str) and _json_type(sdk)):
        assert lean.data is not None
        assert json.loads(lean.data) == data
    elif isinstance(data, str):
        assert lean.data == data.encode()
    else:
        assert lean.data == data


def _json_type(event: BaseCloudEvent) -> bool:
    media = str(event.get_attributes().get("datacontenttype") or "application/json")
    return media.startswith("application/json") or media.endswith("+json")


@pytest.mark.parametrize(("attributes", "data"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("mode", ["binary", "structured", "batch"])
def test_what_the_sdk_sends_the_codec_reads(
    attributes: dict[str, Any], data: Any, mode: str
) -> None:
    sent = sdk_event(attributes, data)
    if mode == "binary":
        message = binding.to_binary(sent, FORMAT)
        headers, body = dict(message.headers), message.body
    elif mode == "structured":
        message = binding.to_structured(sent, FORMAT)
        headers, body = dict(message.headers), message.body
    else:
        headers = {"content-type": "application/cloudevents-batch+json"}
        body = b"[" + FORMAT.write(sent) + b"," + FORMAT.write(sent) + b"]"
    if mode == "binary" and isinstance(attributes.get("urgent"), bool):
        headers["ce-urgent"] = "true"  # the SDK writes Python's True (sdk-python's bug)
    found_mode, events = codec.decode({k.lower(): v for k, v in headers.items()}, body)
    assert found_mode.value == mode
    assert len(events) == (2 if mode == "batch" else 1)
    for event in events:
        same(event, sent)


@pytest.mark.parametrize(("attributes", "data"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("mode", [Mode.BINARY, Mode.STRUCTURED, Mode.BATCH])
def test_what_the_codec_sends_the_sdk_reads(
    attributes: dict[str, Any], data: Any, mode: Mode
) -> None:
    reference = sdk_event(attributes, data)
    # the same event, as the codec holds it (read from the SDK's own JSON)
    lean = codec.from_json(FORMAT.write(reference))
    headers, body = codec.encode([lean, lean] if mode is Mode.BATCH else [lean], mode)
    if mode is Mode.BATCH:
        items = json.loads(body)
        assert len(items) == 2
        received = [FORMAT.read(None, json.dumps(item).encode()) for item in items]
    else:
        received = [binding.from_http(binding.HTTPMessage(headers, body), FORMAT)]
    for event in received:
        same(lean, event)
        same(codec.from_json(FORMAT.write(event)), reference)


def test_the_json_format_round_trips_and_keeps_json_data_as_written() -> None:
    headers = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t",
               "content-type": "application/json", "ce-n": "5"}  # fmt: skip
    event = codec.decode_binary(headers, b'{"b": 1,  "a": [ 2 ]}')
    stored = codec.to_json(event)
    assert b'"data":{"b": 1,  "a": [ 2 ]}' in stored
    assert codec.from_json(stored).attributes == event.attributes
    assert json.loads(codec.from_json(stored).data or b"") == {"b": 1, "a": [2]}
    broken = codec.decode_binary(headers, b"{not json")
    assert (
        json.loads(codec.to_json(broken))["data_base64"] == base64.b64encode(b"{not json").decode()
    )
    assert codec.from_json(codec.to_json(broken)) == broken


def test_header_values_are_percent_decoded_and_encoded_back() -> None:
    headers = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t",
               "ce-subject": "a%20b%C3%A9%25"}  # fmt: skip
    event = codec.decode_binary(headers, b"")
    assert event.attributes["subject"] == "a bé%"
    assert codec.encode_binary(event)[0]["ce-subject"] == "a%20b%C3%A9%25"
    assert event.data is None


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        ({"ce-specversion": "1.0", "ce-id": "1", "ce-type": "t"}, b"", "missing required source"),
        ({"ce-specversion": "0.3", "ce-id": "1", "ce-source": "/", "ce-type": "t"}, b"",
         "specversion '0.3' is not supported"),
        ({"ce-specversion": "1.0", "ce-id": "", "ce-source": "/", "ce-type": "t"}, b"",
         "id must not be empty"),
        ({"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/", "ce-type": "t",
          "ce-bad_name": "x"}, b"", "attribute name 'bad_name'"),
        ({"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/", "ce-type": "t",
          "ce-time": "yesterday"}, b"", "time 'yesterday' is not an RFC 3339"),
        ({"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/", "ce-type": "t",
          "ce-time": "2026-12-05T10:00:00"}, b"", "time '2026-12-05T10:00:00' is not an RFC 3339"),
        ({"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/", "ce-type": "t",
          "ce-time": "2026-12-05 10:00:00Z"}, b"", "is not an RFC 3339"),
        ({"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/", "ce-type": "t",
          "ce-x": "%FF"}, b"", "header ce-x is not percent-encoded UTF-8"),
        ({"content-type": "text/plain"}, b"hi", "no ce-specversion header"),
        ({"content-type": "application/cloudevents+json"}, b"{not", "structured mode"),
        ({"content-type": "application/cloudevents+json"}, b"[]", "must be a JSON object"),
        ({"content-type": "application/cloudevents+json"},
         b'{"specversion":"1.0","id":"1","source":"/","type":"t","x":1.5}', "x is a float"),
        ({"content-type": "application/cloudevents+json"},
         b'{"specversion":"1.0","id":1,"source":"/","type":"t"}', "id must be a string"),
        ({"content-type": "application/cloudevents+json"},
         b'{"specversion":"1.0","id":"1","source":"/","type":"t","data_base64":"!"}',
         "data_base64 is not Base64"),
        ({"content-type": "application/cloudevents-batch+json"}, b"{}", "must be a JSON array"),
        ({"content-type": "application/cloudevents-batch+json"},
         b'[{"specversion":"1.0","id":"1","source":"/"}]', "batch item 0: missing required type"),
        ({"content-type": "application/cloudevents+xml"}, b"<e/>", "only JSON is supported"),
    ],
)  # fmt: skip
def test_what_a_receiver_must_refuse_is_refused_saying_why(
    headers: dict[str, str], body: bytes, message: str
) -> None:
    with pytest.raises(InvalidEventError, match=message.replace("(", r"\(")):
        codec.decode(headers, body)


def test_an_event_without_time_stays_without_one() -> None:
    """The SDK gives every event it reads a ``time``; a broker passes events through
    (Knative's does), so the codec adds nothing."""
    headers = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t"}
    assert "time" not in codec.decode_binary(headers, b"").attributes
    sdk = binding.from_binary(binding.HTTPMessage(headers, b""), FORMAT)
    assert "time" in sdk.get_attributes()


@pytest.mark.parametrize(
    "time", ["2026-12-05T10:00:00Z", "2026-12-05t10:00:00.5z", "2026-12-05T11:00:00+01:00"]
)
def test_rfc3339_times_are_taken_in_either_case_with_any_offset(time: str) -> None:
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "1",
        "ce-source": "/",
        "ce-type": "t",
        "ce-time": time,
    }

    _, [event] = codec.decode(headers, b"")

    assert event.attributes["time"] == time  # passed on as sent
