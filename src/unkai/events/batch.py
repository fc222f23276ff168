"""The CloudEvents JSON batch format (``application/cloudevents-batch+json``).

The official SDK has no batch support (cloudevents/sdk-python#130), so this module
adds it on top of the SDK's :class:`~cloudevents.core.formats.json.JSONFormat`: a batch
is a JSON array whose items are JSON-format events, and it may be empty.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.formats.json import JSONFormat

from unkai.events import spec

CONTENT_TYPE = "application/cloudevents-batch+json"

_FORMAT = JSONFormat()


def read(body: bytes) -> list[BaseCloudEvent]:
    """Events of a batch body, in order; each item is checked like a structured event.

    Raises ``ValueError`` when the body is not a JSON array of events, and whatever the
    SDK raises for an item with an invalid attribute.
    """
    items = json.loads(body)
    if not isinstance(items, list):
        raise ValueError(f"a batch must be a JSON array, got {type(items).__name__}")
    events = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"batch item {index} is not a JSON object")
        if missing := spec.missing_required(item):
            raise ValueError(f"batch item {index}: missing required {', '.join(missing)}")
        events.append(_FORMAT.read(None, json.dumps(item)))
    return events


def write(events: Sequence[BaseCloudEvent]) -> bytes:
    """One batch body holding ``events`` in JSON format."""
    return b"[" + b",".join(_FORMAT.write(event) for event in events) + b"]"
