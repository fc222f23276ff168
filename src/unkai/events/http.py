"""CloudEvents over HTTP: the three content modes, decoded and encoded as one value.

A receiver answers in the mode it was called with (binary in, binary out), so decoding
returns the :class:`Mode` along with the events, and :func:`encode` takes it back.
Mode detection follows the HTTP binding (§3): a ``Content-Type`` starting with
``application/cloudevents-batch`` is batched, one starting with ``application/cloudevents``
is structured, anything else is binary. Only the JSON event format is supported.

Every malformed message raises :class:`InvalidEventError`, whose text says what is wrong
and is safe to send back to the client in a 400.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Final

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import http as binding
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v03.event import CloudEvent as CloudEventV03
from cloudevents.core.v1.event import CloudEvent

from unkai.errors import UserError
from unkai.events import batch, spec

# The SDK's event classes (``BaseCloudEvent`` is a protocol, not checkable at run time).
EVENT_CLASSES: Final = (CloudEvent, CloudEventV03)

_FORMAT = JSONFormat()
_STRUCTURED_JSON = JSONFormat.CONTENT_TYPE
_BATCH_PREFIX = "application/cloudevents-batch"
_STRUCTURED_PREFIX = "application/cloudevents"
# What the SDK raises on bad input: JSON and base64 errors are ValueErrors, a body that
# is JSON but not an object gives AttributeError/TypeError, a bad time a ValueError.
_DECODE_ERRORS = (ValueError, TypeError, AttributeError, KeyError, BaseCloudEventException)


class Mode(StrEnum):
    """The HTTP content mode of a CloudEvents message."""

    BINARY = "binary"
    STRUCTURED = "structured"
    BATCH = "batch"


class InvalidEventError(UserError, ValueError):
    """The message is not a valid CloudEvent (or batch); the text says why."""


def mode_of(content_type: str) -> Mode:
    """The content mode a ``Content-Type`` value selects (binding §3)."""
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type.startswith(_BATCH_PREFIX):
        return Mode.BATCH
    if media_type.startswith(_STRUCTURED_PREFIX):
        return Mode.STRUCTURED
    return Mode.BINARY


def decode(headers: Mapping[str, str], body: bytes) -> tuple[Mode, list[BaseCloudEvent]]:
    """The mode and events of an HTTP message; ``headers`` have lower-case names.

    Binary and structured messages carry one event, a batch zero or more.
    """
    content_type = headers.get("content-type", "")
    mode = mode_of(content_type)
    media_type = content_type.partition(";")[0].strip().lower()
    if mode is Mode.BINARY and "ce-specversion" not in headers:
        raise InvalidEventError(
            "not a CloudEvent: no ce-specversion header (binary mode) and the content type "
            f"is not {_STRUCTURED_JSON} (structured mode)"
        )
    if mode is not Mode.BINARY and not media_type.endswith("+json"):
        raise InvalidEventError(f"unsupported event format {media_type!r}: only JSON is supported")
    try:
        if mode is Mode.BATCH:
            return mode, batch.read(body)
        if mode is Mode.STRUCTURED:
            return mode, [_structured(body)]
        return mode, [_binary(headers, body)]
    except _DECODE_ERRORS as error:
        raise InvalidEventError(f"invalid CloudEvent ({mode} mode): {error}") from None


def _binary(headers: Mapping[str, str], body: bytes) -> BaseCloudEvent:
    present = (name[3:] for name in headers if name.startswith("ce-"))
    if missing := spec.missing_required(present):
        raise ValueError(f"missing required {', '.join(f'ce-{name}' for name in missing)}")
    return binding.from_binary(binding.HTTPMessage(dict(headers), body), _FORMAT)


def _structured(body: bytes) -> BaseCloudEvent:
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError(f"a structured event must be a JSON object, got {type(document).__name__}")
    if missing := spec.missing_required(document):
        raise ValueError(f"missing required {', '.join(missing)}")
    return _FORMAT.read(None, body)


def encode(events: Sequence[BaseCloudEvent], mode: Mode) -> binding.HTTPMessage:
    """An HTTP message carrying ``events`` in ``mode``; binary and structured take one."""
    if mode is Mode.BATCH:
        return binding.HTTPMessage({"content-type": batch.CONTENT_TYPE}, batch.write(events))
    if len(events) != 1:
        raise ValueError(f"{mode} mode carries exactly one event, got {len(events)}")
    if mode is Mode.STRUCTURED:
        return binding.to_structured(events[0], _FORMAT)
    return binding.to_binary(events[0], _FORMAT)
