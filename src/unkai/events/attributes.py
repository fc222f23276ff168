"""A CloudEvent attribute's value as the text filters compare.

The SDK hands attributes over typed (``time`` a ``datetime``, extensions ``bool``,
``int``, ``bytes`` or ``str``), while every filter dialect compares text: ``exact``,
``prefix``, ``suffix`` and the legacy ``attributes`` filter compare the value's string
form, and CESQL represents any attribute that is not a Boolean, an Integer or a String
as a String. One function gives that form, so ``exact: {time: ...}`` and
``time = '...'`` agree. It is the canonical string encoding of the CloudEvents type
system (spec § Type System): ``true``/``false``, base-10 integers, Base64 for binary,
RFC 3339 for timestamps, written with ``Z`` for UTC as the SDK's JSON format writes it.
"""

from __future__ import annotations

import base64
from datetime import datetime


def as_string(value: object) -> str:
    """``value``'s canonical CloudEvents string form."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        text = value.isoformat()
        return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)
