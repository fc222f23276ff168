"""What the CloudEvents spec requires of a received event, where the SDK is lenient.

The SDK's event classes fill in a missing ``id`` (a fresh UUID) when an event is built,
which is right for a sender but hides a malformed message from a receiver: an event
that arrives without ``id``, ``source``, ``specversion`` or ``type`` is invalid (spec
§ Required Attributes), and is rejected here before the SDK sees it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

REQUIRED_ATTRIBUTES: Final = ("id", "source", "specversion", "type")


def missing_required(present: Iterable[str]) -> list[str]:
    """The required attributes not among ``present``, in spec order."""
    names = set(present)
    return [name for name in REQUIRED_ATTRIBUTES if name not in names]
