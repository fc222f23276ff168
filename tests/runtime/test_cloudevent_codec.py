"""The runtime's CloudEvents codec (``unkai.runtime.sdkcodec``) against the SDK's own.

In process, no server: each message is decoded both by the SDK's HTTP binding (what
the runtime used before, ``unkai.events.http``) and by the lean path, and the two
events must be the same object state, since the lean path builds the SDK's
``CloudEvent`` without its constructor. Replies encoded by the lean path are decoded by
the SDK and must give the event back.
"""

from datetime import UTC, datetime

import pytest
from cloudevents.core.bindings import http as binding
from cloudevents.core.v1.event import CloudEvent

from unkai.events import http as sdk_http
from unkai.runtime import sdkcodec

TIME = datetime(2026, 12, 5, 10, 0, 0, 123456, tzinfo=UTC)


def sdk_event(event_id: str, data: object, **attributes: str) -> CloudEvent:
    required = {"type": "t", "source": "/s", "id": event_id, "time": TIME}
    return CloudEvent({**required, **attributes}, data)  # type: ignore[arg-type]


EVENTS = {
    "json": sdk_event("1", {"n": [1, "ü"]}, datacontenttype="application/json"),
    "text with extensions": sdk_event("2", "hi", ext="a b%c", datacontenttype="text/plain"),
    "bytes": sdk_event("3", b"\xff\x00", datacontenttype="application/octet-stream"),
    "no data": sdk_event("4", None),
    "a datetime in JSON data": sdk_event("5", {"at": TIME}, datacontenttype="application/json"),
    "a dict as text": sdk_event("6", {"n": 1}, datacontenttype="text/plain"),
    "a list": sdk_event("7", ["a", 1], datacontenttype="application/json"),
}


@pytest.mark.parametrize("to_message", [binding.to_binary_event, binding.to_structured_event])
@pytest.mark.parametrize("name", EVENTS)
def test_decoded_events_are_the_sdks_own(name: str, to_message: object) -> None:
    message = to_message(EVENTS[name])  # type: ignore[operator]
    headers = {key.lower(): value for key, value in message.headers.items()}
    mode, ours = sdkcodec.decode(headers, message.body)
    assert (mode, [vars(event) for event in ours]) == (
        sdk_http.mode_of(headers.get("content-type", "")),
        [vars(event) for event in sdk_http.decode(headers, message.body)[1]],
    )


@pytest.mark.parametrize("mode", list(sdk_http.Mode))
@pytest.mark.parametrize("name", EVENTS)
def test_replies_are_the_sdks_own_messages(name: str, mode: sdk_http.Mode) -> None:
    events = [EVENTS[name]] * (2 if mode is sdk_http.Mode.BATCH else 1)
    headers, body = sdkcodec.encode(events, mode)
    sdk = sdk_http.encode(events, mode)
    assert ({k.decode(): v.decode() for k, v in headers}, body) == (sdk.headers, sdk.body)


def test_a_boolean_extension_is_the_header_true_in_binary_mode() -> None:
    headers, _ = sdkcodec.encode([sdk_event("1", None, sampled=True)], sdk_http.Mode.BINARY)  # type: ignore[arg-type]
    assert (b"ce-sampled", b"true") in headers


def test_an_event_without_time_gets_one_as_the_sdk_gives_it() -> None:
    headers = {"ce-specversion": "1.0", "ce-id": "1", "ce-type": "t", "ce-source": "/s"}
    before = datetime.now(UTC)
    _, [event] = sdkcodec.decode(headers, b"")
    time = event.get_time()
    assert time is not None
    assert before <= time <= datetime.now(UTC)
