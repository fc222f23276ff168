"""The ``http`` signature: ``handle(request)`` gets a Starlette request, returns a reply.

What a handler may return, and what the client gets:

====================================  ==============================================
``Response`` (any Starlette response)  sent as it is, streaming included
``str``                               200, ``text/plain; charset=utf-8``
``bytes``                             200, ``application/octet-stream``
``dict`` or ``list``                  200, ``application/json``
``None``                              204, no body
``(body, status)``                    ``body`` as above, with ``status``
``(body, status, headers)``           ... and ``headers`` (a mapping or pairs)
====================================  ==============================================

A sync handler runs in a worker thread with the body already read, available as
:attr:`Request.data`; an async handler reads it when it wants (``await
request.body()``, or ``request.stream()`` to take it chunk by chunk).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from starlette import requests
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from unkai.runtime import replies
from unkai.runtime.signatures.base import Function, is_async
from unkai.runtime.workers import Workers

_OCTETS = b"application/octet-stream"


class Request(requests.Request):
    """A Starlette ``Request`` that also offers the body without ``await``.

    ``data`` is there once the body has been read: always in a sync handler, and in an
    async one after ``await request.body()``.
    """

    _data: bytes | None = None

    async def body(self) -> bytes:
        self._data = await super().body()
        return self._data

    @property
    def data(self) -> bytes:
        if self._data is None:
            raise RuntimeError("the body has not been read yet: use `await request.body()`")
        return self._data


class HttpFunction(Function):
    """Calls ``handle(request)`` and turns its return value into a response."""

    def __init__(self, handler: Callable[[Request], Any], workers: Workers) -> None:
        self._handler = handler
        self._workers = workers
        self._async = is_async(handler)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if self._async:
            result = await self._handler(request)
        else:
            await request.body()
            result = await self._workers.run(self._handler, request)
        if isinstance(result, Response):
            await result(scope, receive, send)
        else:
            status, content_type, body, headers = reply(result)
            await replies.respond(send, status, body, content_type=content_type, headers=headers)


def reply(result: Any) -> tuple[int, bytes | None, bytes, list[tuple[bytes, bytes]]]:
    """Status, content type, body and extra headers for a handler's return value."""
    status, headers = 200, []
    body = result
    if isinstance(result, tuple):
        if len(result) not in (2, 3):
            raise TypeError(
                f"handler returned a tuple of {len(result)}: use (body, status[, headers])"
            )
        body, status = result[0], int(result[1])
        headers = _headers(result[2]) if len(result) == 3 else []
    if body is None:
        return (204 if status == 200 else status), None, b"", headers
    content_type: bytes | None
    content_type, payload = _payload(body)
    if headers and any(name == b"content-type" for name, _ in headers):
        content_type = None
    return status, content_type, payload, headers


def _payload(body: Any) -> tuple[bytes, bytes]:
    if isinstance(body, str):
        return replies.TEXT, body.encode()
    if isinstance(body, bytes | bytearray | memoryview):
        return _OCTETS, bytes(body)
    if isinstance(body, dict | list):
        return replies.JSON, json.dumps(body, separators=(",", ":")).encode()
    raise TypeError(
        f"handler returned {type(body).__name__}: return str, bytes, dict, list, None or a Response"
    )


def _headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in pairs]
