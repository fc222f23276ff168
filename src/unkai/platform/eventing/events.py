"""The extensions a broker adds to events, and events rebuilt with or without some.

``knativearrivaltime`` is set by ingress (and left on the event: Knative's subscribers
see it); ``knativebrokerttl`` counts down on every reply, starting at 255, so a reply
loop ends (Knative's ``pkg/broker/ttl.go``); it is stripped before a subscriber sees the
event and put back on its reply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from cloudevents.core.base import BaseCloudEvent

from unkai.events.http import EVENT_CLASSES

ARRIVAL: Final = "knativearrivaltime"
TTL: Final = "knativebrokerttl"
DEFAULT_TTL: Final = 255


def rebuilt(
    event: BaseCloudEvent,
    *,
    add: Mapping[str, object] | None = None,
    drop: Iterable[str] = (),
) -> BaseCloudEvent:
    """``event`` with extensions added or replaced and others removed (events are
    immutable in the SDK)."""
    attributes = dict(event.get_attributes())
    for name in drop:
        attributes.pop(name, None)
    attributes.update(add or {})
    cls = next((c for c in EVENT_CLASSES if isinstance(event, c)), EVENT_CLASSES[0])
    return cls(attributes, event.get_data())
