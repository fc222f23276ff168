"""An exchange answered inside the platform (:class:`~.ports.LocalApp`, broker ingress).

The request body is gathered (up to the app's ``max_body``; past it the answer is 413
and the rest is read and dropped), then the app is awaited and its response written.
Answers keep the connection's order: the app runs once this exchange is first in line
and its request is complete. Everything else (keep-alive, close, pipelining) is the
ordinary :class:`~.exchange.Exchange`'s.
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus

from unkai.platform.gateway.exchange import Exchange
from unkai.platform.gateway.headers import Headers
from unkai.platform.gateway.ports import LocalApp, LocalResponse

log = logging.getLogger("unkai.gateway")


class LocalExchange(Exchange):
    __slots__ = ("_app", "_begun", "_body", "_call", "_headers", "_method", "_path", "_size")

    def serve(self, app: LocalApp, method: bytes, path: bytes, headers: Headers) -> None:
        self._app, self._method, self._path, self._headers = app, method, path, headers
        self._body: list[bytes] = []
        self._size = 0
        self._begun = False
        self._call: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._begun = True
        self._maybe_call()

    def request_body(self, data: bytes) -> None:
        if self.finished:
            return
        self._size += len(data)
        if self._size > self._app.max_body:
            self._body.clear()
            if self._begun:
                body = f"request body larger than {self._app.max_body} bytes".encode()
                self.close = True
                self._respond(413, body)
            return
        self._body.append(data)

    def request_complete(self) -> None:
        self.request_done = True
        if self.finished:
            self.client.exchange_done(self, self.state.clock())
            return
        self._maybe_call()

    def _maybe_call(self) -> None:
        if self._begun and self.request_done and self._call is None and not self.finished:
            if self._size > self._app.max_body:
                self._respond(413, f"request body larger than {self._app.max_body} bytes".encode())
                return
            self._call = asyncio.ensure_future(self._answer(b"".join(self._body)))

    async def _answer(self, body: bytes) -> None:
        try:
            response = await self._app.handle(self._method, self._path, self._headers, body)
        except Exception:  # the app's bug must not leave the client waiting
            log.exception("local handler failed", extra={"path": self._path.decode("latin-1")})
            if not self.finished:
                self._respond(500, b"internal error")
            return
        if not self.finished:
            self._write(response)

    def _write(self, response: LocalResponse) -> None:
        self.status = response.status
        self.close = not self.keep_alive or self.state.stopping
        lines = [
            b"HTTP/1.1 %d %s\r\n" % (response.status, HTTPStatus(response.status).phrase.encode())
        ]
        lines += [
            b"%s: %s\r\n" % (name.encode(), value.encode()) for name, value in response.headers
        ]
        if response.body:
            lines.append(b"content-type: text/plain; charset=utf-8\r\n")
        lines.append(b"content-length: %d\r\n" % len(response.body))
        if self.close:
            lines.append(b"connection: close\r\n")
        lines += [b"\r\n", response.body]
        self.client.write(b"".join(lines))
        self._finish(reusable=False)

    def abort(self) -> None:
        if self._call is not None:
            self._call.cancel()
        super().abort()
