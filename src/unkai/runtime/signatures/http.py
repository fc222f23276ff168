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

A status or header that cannot be sent is an error (500), and a 204 or 304 goes out
without a body whatever the handler gave (``http_replies``).

A sync handler runs off the event loop (on the thread that imported it, or on
``runtime.syncWorkers`` threads) with the body already read, available as
:attr:`Request.data`; an async handler reads it when it wants (``await
request.body()``, or ``request.stream()`` to take it chunk by chunk).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette import requests
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from unkai.runtime import replies
from unkai.runtime.logs import log
from unkai.runtime.signatures import http_replies
from unkai.runtime.signatures.base import Function, is_async
from unkai.runtime.workers import Executor


class Request(requests.Request):
    """A Starlette ``Request`` that also offers the body without ``await``.

    ``data`` is there once the body has been read: always in a sync handler, and in an
    async one after ``await request.body()``.
    """

    _data: bytes | None = None

    async def body(self) -> bytes:
        """The whole body, read straight from ``receive`` unless Starlette's stream has
        begun: its ``stream()`` is an async generator closed with ``aclosing``, which the
        loop's generator hooks track, and that cost a bodiless request several times
        what the rest of the request object does (issue 12 item 6, docs/benchmarks.md).
        ``_body`` and ``_stream_consumed`` are where Starlette keeps what was read."""
        if self._data is not None:
            return self._data
        if hasattr(self, "_body") or self._stream_consumed:
            self._data = await super().body()
            return self._data
        chunks = []
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self._is_disconnected = True
                raise requests.ClientDisconnect
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        self._stream_consumed = True
        self._data = self._body = b"".join(chunks)
        return self._data

    @property
    def data(self) -> bytes:
        if self._data is None:
            raise RuntimeError("the body has not been read yet: use `await request.body()`")
        return self._data


class HttpFunction(Function):
    """Calls ``handle(request)`` and turns its return value into a response."""

    def __init__(self, handler: Callable[[Request], Any], executor: Executor) -> None:
        self._handler = handler
        self._executor = executor
        self._async = is_async(handler)
        self._warned = False

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if self._async:
            result = await self._handler(request)
        else:
            await request.body()
            result = await self._executor.run(self._handler, request)
        if isinstance(result, Response):
            status = http_replies.check(result)
            if status in replies.BODILESS:
                send = http_replies.without_body(send, lambda: self._dropped_body(status))
            await result(scope, receive, send)
            return
        status, content_type, body, headers = http_replies.reply(result)
        if body and status in replies.BODILESS:
            self._dropped_body(status)
            body = b""
        await replies.respond(send, status, body, content_type=content_type, headers=headers)

    def _dropped_body(self, status: int) -> None:
        """Say once per process that a body was dropped: the handler may not know."""
        if not self._warned:
            self._warned = True
            log.warning("dropped the body of a %d response: 204 and 304 have none", status)
