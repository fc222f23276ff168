"""CloudEvents over HTTP for user functions: the lean codec's checks, the SDK's events.

A ``cloudevent`` function receives and returns the official SDK's ``CloudEvent`` (its
users' code is written against it), but the SDK's HTTP binding costs a request most of
its CPU: percent-decoding and ``dateutil`` parsing of every header, validation with a
``defaultdict`` of error lists and a regex per extension, ``quote`` on every header of
the reply, a fresh JSON encoder per call. Here the lean codec (``unkai.events.codec``)
reads and checks the attributes, and the SDK's event is built from what it checked
without validating again. What the function sees is what the SDK would have given it:

* attributes as strings (Integers and Booleans where the JSON format gave them), ``time``
  a timezone-aware ``datetime``, and a ``time`` of now when the event had none (the
  SDK's constructor adds one, so ``get_time()`` is never ``None``);
* data as the SDK's JSON format reads it (``read_data`` in binary mode: JSON parsed when
  the content type is JSON or absent, else text, else bytes; in structured mode the
  ``data`` member as it came, ``data_base64`` as bytes).

Replies are encoded the same way back: binary mode through the codec's headers (the
SDK's ``write_data`` for the body), structured and batched through the SDK's JSON
format. An event of specversion 0.3, which the lean codec does not take, is decoded by
the SDK as before (``unkai.events.http``), and so is a 0.3 reply.

The checks the SDK's constructor makes and the codec does not (``subject``,
``dataschema``, ``datacontenttype`` non-empty, no extension named ``data``, ``time``
with an offset) are made here, so a client gets a 400 naming the attribute for each.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from unkai.events import codec, spec
from unkai.events import http as sdk_http
from unkai.events.http import InvalidEventError, Mode, mode_of

Headers = list[tuple[bytes, bytes]]

_FORMAT: Final = JSONFormat()
_V03: Final = "0.3"
_NON_EMPTY: Final = ("subject", "dataschema", "datacontenttype")


def decode(headers: Mapping[str, str], body: bytes) -> tuple[Mode, list[BaseCloudEvent]]:
    """The mode and SDK events of an HTTP message; ``headers`` have lower-case names.

    Raises :class:`InvalidEventError` with what is wrong, as ``unkai.events.http`` does.
    """
    content_type = headers.get("content-type", "")
    mode = mode_of(content_type)
    if mode is Mode.BINARY:
        if headers.get("ce-specversion") == _V03:
            return sdk_http.decode(headers, body)
        checked = _decode_binary(headers, body)
        data = _FORMAT.read_data(body, headers.get("content-type"))
        return mode, [_event(checked.attributes, data, "")]
    media_type = content_type.partition(";")[0].strip().lower()
    if not media_type.endswith("+json"):
        raise InvalidEventError(f"unsupported event format {media_type!r}: only JSON is supported")
    try:
        document = json.loads(body)
    except ValueError as error:
        raise InvalidEventError(f"invalid CloudEvent ({mode} mode): {error}") from None
    if mode is Mode.STRUCTURED:
        if _is_v03(document):
            return sdk_http.decode(headers, body)
        return mode, [_from_document(document, "")]
    if not isinstance(document, list):
        raise InvalidEventError(
            f"invalid CloudEvent (batch mode): a batch must be a JSON array, "
            f"got {type(document).__name__}"
        )
    if any(_is_v03(item) for item in document):
        return sdk_http.decode(headers, body)
    return mode, [_from_document(item, f"batch item {n}: ") for n, item in enumerate(document)]


def _decode_binary(headers: Mapping[str, str], body: bytes) -> codec.Event:
    """The codec's binary decode, naming a missing attribute by its header (``ce-id``)."""
    try:
        return codec.decode_binary(headers, body)
    except InvalidEventError:
        present = [name[3:] for name in headers if name.startswith("ce-")]
        if "specversion" in present and (missing := spec.missing_required(present)):
            names = ", ".join(f"ce-{name}" for name in missing)
            raise InvalidEventError(
                f"invalid CloudEvent (binary mode): missing required {names}"
            ) from None
        raise


def _is_v03(document: object) -> bool:
    return isinstance(document, dict) and document.get("specversion") == _V03


def _from_document(document: object, where: str) -> BaseCloudEvent:
    """An event in the JSON format; its ``data`` member is kept as parsed, not re-encoded."""
    data = document.pop("data", None) if isinstance(document, dict) else None
    checked = codec.from_document(document, where=where)
    return _event(checked.attributes, checked.data if data is None else data, where)


def _event(attributes: dict[str, Any], data: Any, where: str) -> BaseCloudEvent:
    """The SDK's event from attributes the codec checked, with the SDK's own rules too.

    Built without the SDK's constructor, whose validation repeats what the codec did
    at several times its cost; it sets only ``_attributes`` and ``_data``, which
    ``tests/runtime/test_cloudevent_codec.py`` compares against the constructor's event.
    """
    for name in _NON_EMPTY:
        if attributes.get(name) == "":
            raise InvalidEventError(f"invalid CloudEvent: {where}{name} must not be empty")
    if "data" in attributes:
        raise InvalidEventError(
            f"invalid CloudEvent: {where}the extension name data is reserved for the event's data"
        )
    time = attributes.get("time")
    if time is None:
        attributes["time"] = datetime.now(UTC)
    else:
        parsed = datetime.fromisoformat(str(time))
        if parsed.tzinfo is None:
            raise InvalidEventError(
                f"invalid CloudEvent: {where}time {time!r} has no UTC offset (RFC 3339 needs one)"
            )
        attributes["time"] = parsed
    event = CloudEvent.__new__(CloudEvent)
    event._attributes = attributes
    event._data = data
    return event


def encode(events: Sequence[BaseCloudEvent], mode: Mode) -> tuple[Headers, bytes]:
    """ASGI headers and body carrying ``events`` in ``mode`` (binary and structured: one)."""
    if mode is Mode.BINARY and len(events) == 1 and events[0].get_specversion() != _V03:
        return _binary(events[0])
    message = sdk_http.encode(events, mode)
    return [
        (name.encode(), value.encode()) for name, value in message.headers.items()
    ], message.body


def _binary(event: BaseCloudEvent) -> tuple[Headers, bytes]:
    attributes: dict[str, codec.Value] = {}
    for name, value in event.get_attributes().items():
        if type(value) is str or isinstance(value, int):
            attributes[name] = value
        elif isinstance(value, datetime):
            attributes[name] = _rfc3339(value)
        elif value is not None:
            attributes[name] = str(value)
    content_type = attributes.get("datacontenttype")
    body = _FORMAT.write_data(event.get_data(), None if content_type is None else str(content_type))
    headers, _ = codec.encode_binary(codec.Event(attributes))
    return [(name.encode(), value.encode()) for name, value in headers.items()], body


def _rfc3339(moment: datetime) -> str:
    """``moment`` as the SDK writes it: ISO 8601, ``Z`` for UTC."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
