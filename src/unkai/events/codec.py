"""A lean CloudEvents 1.0 codec for the broker's hot path: HTTP binary, structured and
batched modes, and the JSON format, in and out.

Why not the official SDK here: it builds typed objects (a ``datetime`` for ``time``,
data parsed from JSON, a fresh ``time`` when an event has none) that the broker never
looks at, and a decode, a rebuild with two extensions, a store write and a binary
encode cost about 340 µs an event through it on this machine — more than the whole
budget of 5,000 events/s on two cores. An :class:`Event` here is its attributes as they
came on the wire (strings; Integers and Booleans where the JSON format gave them) and
its data as bytes; nothing is converted that the broker does not read. The SDK stays
the codec of user functions (``unkai.events.http``): they get its ``CloudEvent``.

What a receiver must check is checked (spec § Required Attributes, § Extension Context
Attributes, § Type System): ``id``, ``source``, ``specversion``, ``type`` present and
non-empty, ``specversion`` 1.0, attribute names of ``a-z0-9``, ``time`` RFC 3339,
attribute values of the spec's types. Binary-mode header values are percent-decoded
(HTTP binding § 3.1.3.2) and encoded back. Every problem raises
:class:`~unkai.events.http.InvalidEventError` with what is wrong. Conformance with the
SDK, both ways, is tested in ``tests/events/test_codec.py``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Final
from urllib.parse import quote, unquote

from unkai.events.http import InvalidEventError, Mode, mode_of
from unkai.events.spec import REQUIRED_ATTRIBUTES

Value = str | int | bool
NAME: Final = re.compile(r"[a-z0-9]+")
BATCH_TYPE: Final = "application/cloudevents-batch+json"
STRUCTURED_TYPE: Final = "application/cloudevents+json; charset=UTF-8"
_SAFE: Final = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"%')
_INT_RANGE: Final = range(-(2**31), 2**31)
_PLAIN: Final = re.compile(r"[!#$&-~]*")
"""Printable ASCII but space, ``"`` and ``%``: a header value that needs no escape."""
_DUMPS: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class Event:
    """One CloudEvent: ``attributes`` (``datacontenttype`` included) and ``data``.

    Read through the same methods as the SDK's events (``get_attributes``,
    ``get_data``, ``get_id``, ``get_extension``), so filters and the broker's code
    read either. Treat as immutable: :meth:`with_extensions` makes a changed copy.
    """

    __slots__ = ("attributes", "data")

    def __init__(self, attributes: dict[str, Value], data: bytes | None = None) -> None:
        self.attributes = attributes
        self.data = data

    def get_attributes(self) -> Mapping[str, Value]:
        return self.attributes

    def get_data(self) -> bytes | None:
        return self.data

    def get_id(self) -> str:
        return str(self.attributes["id"])

    def get_extension(self, name: str) -> Value | None:
        return self.attributes.get(name)

    def with_extensions(
        self, add: Mapping[str, Value] | None = None, drop: Iterable[str] = ()
    ) -> Event:
        attributes = dict(self.attributes)
        for name in drop:
            attributes.pop(name, None)
        attributes.update(add or {})
        return Event(attributes, self.data)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Event)
            and self.attributes == other.attributes
            and self.data == other.data
        )

    def __repr__(self) -> str:
        return f"Event({self.attributes!r}, {self.data!r})"

    __hash__ = None  # type: ignore[assignment]


# -- checking ----------------------------------------------------------------------


def _checked(attributes: dict[str, Value]) -> dict[str, Value]:
    missing = [name for name in REQUIRED_ATTRIBUTES if name not in attributes]
    if missing:
        raise InvalidEventError(f"invalid CloudEvent: missing required {', '.join(missing)}")
    for name, value in attributes.items():
        if name not in _GOOD_NAMES:
            _check_name(name)
        if type(value) is str:
            continue
        if isinstance(value, bool | int) and name in _STRING_ONLY:
            raise InvalidEventError(f"invalid CloudEvent: {name} must be a string")
        if isinstance(value, int) and not isinstance(value, bool) and value not in _INT_RANGE:
            raise InvalidEventError(f"invalid CloudEvent: {name} is out of the Integer range")
    if attributes["specversion"] != "1.0":
        raise InvalidEventError(
            f"invalid CloudEvent: specversion {attributes['specversion']!r} is not supported "
            "(send 1.0)"
        )
    for name in ("id", "source", "type"):
        if attributes[name] == "":
            raise InvalidEventError(f"invalid CloudEvent: {name} must not be empty")
    if "time" in attributes:
        _check_time(str(attributes["time"]))
    return attributes


_GOOD_NAMES: set[str] = set()
"""Attribute names seen valid (senders repeat theirs): a set lookup instead of a regex."""
_GOOD_NAMES_MAX: Final = 10_000


def _check_name(name: str) -> None:
    if not NAME.fullmatch(name):
        raise InvalidEventError(
            f"invalid CloudEvent: attribute name {name!r} is not lower-case a-z and 0-9"
        )
    if len(_GOOD_NAMES) < _GOOD_NAMES_MAX:
        _GOOD_NAMES.add(name)


_STRING_ONLY: Final = frozenset(
    {"id", "source", "specversion", "type", "datacontenttype", "dataschema", "subject", "time"}
)


def _check_time(text: str) -> None:
    parse_time(text)


def parse_time(text: str) -> datetime:
    """An RFC 3339 ``date-time``: ``T`` between date and time and an offset (``Z`` or
    ``±hh:mm``), either case (RFC 3339 §5.6 allows ``t`` and ``z``), as Go's
    ``time.RFC3339`` reads it in Knative's broker."""
    upper = text.upper()
    try:
        moment = datetime.fromisoformat(upper) if upper[10:11] == "T" else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidEventError(f"invalid CloudEvent: time {text!r} is not an RFC 3339 timestamp")
    return moment


# -- HTTP --------------------------------------------------------------------------


def decode(headers: Mapping[str, str], body: bytes) -> tuple[Mode, list[Event]]:
    """The mode and events of an HTTP message; ``headers`` have lower-case names."""
    content_type = headers.get("content-type", "")
    mode = mode_of(content_type)
    if mode is Mode.BINARY:
        return mode, [decode_binary(headers, body)]
    media_type = content_type.partition(";")[0].strip().lower()
    if not media_type.endswith("+json"):
        raise InvalidEventError(f"unsupported event format {media_type!r}: only JSON is supported")
    document = _json(body, mode)
    if mode is Mode.STRUCTURED:
        return mode, [from_document(document)]
    if not isinstance(document, list):
        raise InvalidEventError(
            f"invalid CloudEvent (batch mode): a batch must be a JSON array, "
            f"got {type(document).__name__}"
        )
    return mode, [from_document(item, where=f"batch item {n}: ") for n, item in enumerate(document)]


def decode_binary(headers: Mapping[str, str], body: bytes) -> Event:
    if "ce-specversion" not in headers:
        raise InvalidEventError(
            "not a CloudEvent: no ce-specversion header (binary mode) and the content type "
            "is not application/cloudevents+json (structured mode)"
        )
    attributes: dict[str, Value] = {}
    for name, value in headers.items():
        if name.startswith("ce-"):
            try:
                attributes[name[3:]] = unquote(value, errors="strict") if "%" in value else value
            except UnicodeDecodeError:
                raise InvalidEventError(
                    f"invalid CloudEvent: header {name} is not percent-encoded UTF-8"
                ) from None
    if "content-type" in headers:
        attributes["datacontenttype"] = headers["content-type"]
    return Event(_checked(attributes), body or None)


def encode_binary(event: Event) -> tuple[dict[str, str], bytes]:
    """Headers and body of ``event`` in binary mode."""
    headers = {}
    for name, value in event.attributes.items():
        if name == "datacontenttype":
            headers["content-type"] = str(value)
        else:
            headers["ce-" + name] = _header_value(value)
    return headers, event.data or b""


def _header_value(value: Value) -> str:
    if type(value) is str and _PLAIN.fullmatch(value):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return quote(str(value), safe=_SAFE)


def encode(events: Sequence[Event], mode: Mode) -> tuple[dict[str, str], bytes]:
    """Headers and body carrying ``events`` in ``mode`` (binary and structured: one)."""
    if mode is Mode.BATCH:
        return {"content-type": BATCH_TYPE}, b"[" + b",".join(map(to_json, events)) + b"]"
    if len(events) != 1:
        raise ValueError(f"{mode} mode carries exactly one event, got {len(events)}")
    if mode is Mode.STRUCTURED:
        return {"content-type": STRUCTURED_TYPE}, to_json(events[0])
    return encode_binary(events[0])


# -- the JSON format ---------------------------------------------------------------


def _json(body: bytes, mode: Mode) -> object:
    try:
        return json.loads(body)
    except ValueError as error:
        raise InvalidEventError(f"invalid CloudEvent ({mode} mode): {error}") from None


def from_json(body: bytes) -> Event:
    """An event in the JSON format (a structured body, a stored event)."""
    return from_document(_json(body, Mode.STRUCTURED))


def from_document(document: object, *, where: str = "") -> Event:
    if not isinstance(document, dict):
        raise InvalidEventError(
            f"invalid CloudEvent: {where}an event must be a JSON object, "
            f"got {type(document).__name__}"
        )
    attributes: dict[str, Value] = {}
    data: bytes | None = None
    for name, value in document.items():
        if name == "data":
            data = _data_bytes(value, document.get("datacontenttype"))
        elif name == "data_base64":
            try:
                data = base64.b64decode(value, validate=True)
            except (ValueError, TypeError):
                raise InvalidEventError(
                    f"invalid CloudEvent: {where}data_base64 is not Base64"
                ) from None
        elif isinstance(value, str | bool | int) and not isinstance(value, float):
            attributes[name] = value
        elif value is not None:
            raise InvalidEventError(
                f"invalid CloudEvent: {where}attribute {name} is a {type(value).__name__}, "
                "not a string, integer or boolean"
            )
    try:
        return Event(_checked(attributes), data)
    except InvalidEventError as error:
        if not where:
            raise
        raise InvalidEventError(
            str(error).replace("CloudEvent: ", f"CloudEvent: {where}")
        ) from None


def _is_json(content_type: object) -> bool:
    if content_type is None:
        return True  # the JSON format's default (§ 3.1)
    media = str(content_type).partition(";")[0].strip().lower()
    return media in ("application/json", "text/json") or media.endswith("+json")


def _data_bytes(value: object, content_type: object) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str) and not _is_json(content_type):
        return value.encode()
    return _DUMPS(value).encode()


def to_json(event: Event) -> bytes:
    """``event`` in the JSON format: JSON data embedded as it came, text as a string,
    anything else (or JSON that does not parse) as ``data_base64``."""
    head = _DUMPS(event.attributes).encode()
    data = event.data
    if data is None:
        return head
    content_type = event.attributes.get("datacontenttype")
    if _is_json(content_type) and _parses(data):
        return head[:-1] + b',"data":' + data + b"}"
    if not _is_json(content_type) and str(content_type).lower().startswith("text/"):
        try:
            text = json.dumps(data.decode(), ensure_ascii=False).encode()
            return head[:-1] + b',"data":' + text + b"}"
        except UnicodeDecodeError:
            pass
    encoded = base64.b64encode(data)
    return head[:-1] + b',"data_base64":"' + encoded + b'"}'


def _parses(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True
