"""Request bodies: the size limit, and reading a whole body.

A body can announce its size (``Content-Length``), which is checked before the function
runs, or arrive in chunks of unknown total (``Transfer-Encoding: chunked``), which are
counted as the function reads them by :class:`LimitedReceive`. When the count passes the
limit the client gets its 413 at once, and the function sees the exception (or, if it
swallows it, a disconnected client). Bodies are never buffered here except by
:func:`read`, which the signatures that need the whole body use.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive, Send

from unkai.errors import UserError
from unkai.runtime import replies


class BodyTooLargeError(UserError):
    """The request body is larger than ``runtime.max_body_size``."""


async def send_too_large(send: Send, limit: int) -> None:
    """The 413 answer, naming the limit so the client knows what to send instead."""
    await replies.text(send, 413, f"request body too large (limit {limit} bytes)")


class LimitedReceive:
    """A ``receive`` that counts a streamed body and answers 413 once it passes ``limit``."""

    __slots__ = ("_limit", "_receive", "_send", "exceeded", "received")

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self._receive = receive
        self._send = send
        self._limit = limit
        self.received = 0
        self.exceeded = False

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self._limit:
                self.exceeded = True
                await send_too_large(self._send, self._limit)
                raise BodyTooLargeError(f"more than {self._limit} bytes")
        return message


async def read(receive: Receive) -> bytes:
    """The whole request body; raises ``ClientDisconnect`` if the client goes away."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
