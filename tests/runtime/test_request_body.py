"""``Request.body()`` reads ``receive`` itself (issue 12, item 6): what a handler sees.

The request is driven through its ASGI ``receive`` as uvicorn drives it: messages of
``http.request`` with ``more_body``, or ``http.disconnect``.
"""

import asyncio
from collections.abc import Iterator

import pytest
from starlette.requests import ClientDisconnect
from starlette.types import Message

from unkai.runtime.signatures.http import Request

SCOPE = {"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""}


def request(messages: list[Message]) -> Request:
    pending: Iterator[Message] = iter(messages)

    async def receive() -> Message:
        return next(pending)

    return Request(SCOPE, receive)


def chunks(*parts: bytes) -> list[Message]:
    last = len(parts) - 1
    return [
        {"type": "http.request", "body": part, "more_body": index < last}
        for index, part in enumerate(parts)
    ]


def test_a_body_in_chunks_is_joined_and_stays_readable_every_way() -> None:
    async def read() -> tuple[bytes, bytes, bytes, list[bytes]]:
        req = request(chunks(b"hel", b"", b"lo"))
        first = await req.body()
        return first, await req.body(), req.data, [chunk async for chunk in req.stream()]

    first, again, data, streamed = asyncio.run(read())
    assert first == again == data == b"hello"
    assert b"".join(streamed) == b"hello"


def test_a_request_without_a_body_reads_as_empty() -> None:
    assert asyncio.run(request(chunks(b"")).body()) == b""


def test_a_client_that_leaves_mid_body_is_a_client_disconnect() -> None:
    req = request([*chunks(b"part", b"")[:1], {"type": "http.disconnect"}])
    with pytest.raises(ClientDisconnect):
        asyncio.run(req.body())


def test_a_body_already_streamed_by_starlette_is_not_read_again() -> None:
    async def read() -> bytes:
        req = request(chunks(b"a", b"b"))
        async for _ in req.stream():
            pass
        return await req.body()

    with pytest.raises(RuntimeError, match="Stream consumed"):
        asyncio.run(read())
