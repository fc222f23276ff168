"""The runtime's own small responses (413, 400, 500, probes, ...), written as raw ASGI."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from starlette.types import Send

TEXT: Final = b"text/plain; charset=utf-8"
JSON: Final = b"application/json"

Headers = list[tuple[bytes, bytes]]


async def respond(
    send: Send,
    status: int,
    body: bytes = b"",
    *,
    content_type: bytes | None = TEXT,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """Send a whole response; ``Content-Length`` is always set so nothing is chunked."""
    head: Headers = [(b"content-length", b"%d" % len(body))]
    if content_type is not None and body:
        head.append((b"content-type", content_type))
    head.extend(headers)
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


async def text(send: Send, status: int, message: str) -> None:
    """A plain-text response of one line."""
    await respond(send, status, message.encode() + b"\n")
