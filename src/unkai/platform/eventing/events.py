"""The extensions a broker adds to events.

``knativearrivaltime`` is set by ingress (and left on the event: Knative's subscribers
see it); ``knativebrokerttl`` counts down on every reply, starting at 255, so a reply
loop ends (Knative's ``pkg/broker/ttl.go``); it is stripped before a subscriber sees the
event and put back on its reply.
"""

from __future__ import annotations

from typing import Final

ARRIVAL: Final = "knativearrivaltime"
TTL: Final = "knativebrokerttl"
DEFAULT_TTL: Final = 255
