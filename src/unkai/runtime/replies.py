"""Whole responses written as raw ASGI: the runtime's own (413, 400, 500, probes, ...) and
the replies the signatures build from what a function returned."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

from starlette.types import Send

TEXT: Final = b"text/plain; charset=utf-8"
JSON: Final = b"application/json"
# Statuses whose responses never have a body, nor Content-Length (RFC 9110 §6.4.1, §8.6).
BODILESS: Final = frozenset({204, 304})

Headers = list[tuple[bytes, bytes]]


async def respond(
    send: Send,
    status: int,
    body: bytes = b"",
    *,
    content_type: bytes | None = TEXT,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """Send a whole response, framed by ``Content-Length`` so nothing is chunked.

    A ``BODILESS`` status gets neither body nor ``Content-Length``: the caller leaves
    ``body`` empty.
    """
    head: Headers = [] if status in BODILESS else [(b"content-length", b"%d" % len(body))]
    if content_type is not None and body:
        head.append((b"content-type", content_type))
    head.extend(headers)
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


async def text(send: Send, status: int, message: str) -> None:
    """A plain-text response of one line."""
    await respond(send, status, message.encode() + b"\n")


def json_body(value: Any) -> bytes:
    """``value`` as compact JSON; what JSON cannot carry (NaN, infinities) is an error."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as error:
        raise ValueError(f"handler returned a value that is not valid JSON: {error}") from error
