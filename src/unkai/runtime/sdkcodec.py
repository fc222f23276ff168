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

Replies are encoded back as the SDK encodes them (binary mode: the codec's headers, the
SDK's ``write_data`` body; structured and batched: byte for byte the SDK's JSON format),
without its per-call regexes, ``quote`` calls and JSON encoders. One difference, the
spec's: a Boolean extension is the header value ``true``, not Python's ``True``. An event
of specversion 0.3, which the lean codec does not take, goes through the SDK as before
(``unkai.events.http``), both ways.

The checks the SDK's constructor makes and the codec does not (``subject``,
``dataschema``, ``datacontenttype`` non-empty, no extension named ``data``) are made
here, so a client gets a 400 naming the attribute for each.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from unkai.events import batch, codec, spec
from unkai.events import http as sdk_http
from unkai.events.http import InvalidEventError, Mode, mode_of

Headers = list[tuple[bytes, bytes]]

_FORMAT: Final = JSONFormat()
_V03: Final = "0.3"
_NON_EMPTY: Final = ("subject", "dataschema", "datacontenttype")
_STRUCTURED_TYPE: Final = (b"content-type", JSONFormat.CONTENT_TYPE.encode())
_BATCH_TYPE: Final = (b"content-type", batch.CONTENT_TYPE.encode())


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
        return mode, [_event(checked.attributes, _read_data(body, headers.get("content-type")), "")]
    # Not ``codec.decode``: it would re-encode the data member to bytes, which the SDK's
    # event then parses back; the document is parsed here, once, and checked by the codec.
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


def _read_data(body: bytes, content_type: str | None) -> Any:
    """The SDK's ``read_data``, with JSON (the common case) parsed without its regex."""
    if body and _is_json(content_type or _FORMAT.DEFAULT_CONTENT_TYPE):
        try:
            return json.loads(body.decode())
        except ValueError:
            pass  # the SDK falls back to text, then bytes
    return _FORMAT.read_data(body, content_type)


def _write_data(data: Any, content_type: str | None) -> bytes:
    """The SDK's ``write_data``, with a ``dict`` (the common case) through one encoder
    made once (the SDK makes one per call), giving the same bytes."""
    if type(data) is dict:
        try:
            return _JSON(data).encode()
        except TypeError:
            pass  # the SDK's own answer: its error, or str(data) for a non-JSON type
    return _FORMAT.write_data(data, content_type)


@functools.lru_cache(maxsize=256)
def _is_json(content_type: str) -> bool:
    """Whether the SDK reads and writes data of ``content_type`` as JSON (its regex)."""
    return JSONFormat.JSON_CONTENT_TYPE_PATTERN.match(content_type) is not None


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
        attributes["time"] = codec.parse_time(str(time))
    event = CloudEvent.__new__(CloudEvent)
    event._attributes = attributes
    event._data = data
    return event


def encode(events: Sequence[BaseCloudEvent], mode: Mode) -> tuple[Headers, bytes]:
    """ASGI headers and body carrying ``events`` in ``mode`` (binary and structured: one)."""
    if all(event.get_specversion() != _V03 for event in events):
        if mode is Mode.BATCH:
            return [_BATCH_TYPE], b"[" + b",".join(map(_to_json, events)) + b"]"
        if len(events) == 1 and mode is Mode.STRUCTURED:
            return [_STRUCTURED_TYPE], _to_json(events[0])
        if len(events) == 1:
            return _binary(events[0])
    message = sdk_http.encode(events, mode)  # 0.3 events; the error for several in one
    headers = [(name.encode(), value.encode()) for name, value in message.headers.items()]
    return headers, message.body


def _to_json(event: BaseCloudEvent) -> bytes:
    """``event`` in the JSON format as the SDK's ``JSONFormat.write`` gives it, byte for
    byte, through one encoder made once (the SDK makes one per call): bytes data as
    ``data_base64``, other data as ``data`` (a string unless the content type is JSON)."""
    document = dict(event.get_attributes())
    data = event.get_data()
    if isinstance(data, bytes | bytearray):
        document["data_base64"] = base64.b64encode(data).decode()
    elif data is not None:
        content_type = document.get("datacontenttype", _FORMAT.DEFAULT_CONTENT_TYPE)
        document["data"] = data if _is_json(content_type) else str(data)
    return _JSON(document).encode()


def _binary(event: BaseCloudEvent) -> tuple[Headers, bytes]:
    """Binary mode: the attributes as the codec's headers (``time`` as the SDK writes it)."""
    attributes: dict[str, codec.Value] = {}
    for name, value in event.get_attributes().items():
        if type(value) is str or isinstance(value, int):
            attributes[name] = value
        elif isinstance(value, datetime):
            attributes[name] = _rfc3339(value)
        elif value is not None:
            attributes[name] = str(value)
    content_type = attributes.get("datacontenttype")
    body = _write_data(event.get_data(), None if content_type is None else str(content_type))
    headers, _ = codec.encode_binary(codec.Event(attributes))
    return [(name.encode(), value.encode()) for name, value in headers.items()], body


def _rfc3339(moment: datetime) -> str:
    """``moment`` as the SDK writes it: ISO 8601, ``Z`` for UTC."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _json_default(value: object) -> str:
    """What the SDK's JSON encoder adds to the standard one: ``datetime`` values."""
    if isinstance(value, datetime):
        return _rfc3339(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_JSON: Final = json.JSONEncoder(default=_json_default).encode
