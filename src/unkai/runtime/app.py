"""The ASGI callable uvicorn serves: probes, body limit, errors and lifecycle around a function.

It runs for every request, so it is one flat ``__call__``: two string compares for the
probe paths, one pass over the headers for the body size, then the function's own
``handle`` (``docs/architecture.md``, "The gateway works at the protocol level" applies
here too).

* ``GET /health/liveness``: 200 while the function's ``alive()`` says so, else 503.
* ``GET /health/readiness``: 503 until the function has started, while its ``ready()``
  says no, and from the moment shutdown begins (see :meth:`RuntimeApp.drain`).
  A probe hook that raises is a 503 too, logged with an error id like a failed request.
* A body announced larger than ``max_body_size`` gets 413 before the function runs; a
  chunked one is counted as it is read (``bodies.LimitedReceive``).
* An exception from the function gets a 500 whose body carries an error id; the
  traceback goes to the log, as one JSON line with the same ``error_id``, never to the
  client.

The function is started *after* the server listens (in the background of the lifespan
startup), so probes answer while it starts; requests that arrive meanwhile wait for it.
Once it has started, :attr:`RuntimeApp.on_started` (when set) hears whether readiness
passes then: a fork-server's instance tells the platform at once instead of waiting to
be probed (a cold start's held request goes in that much sooner).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Final

from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from unkai.runtime import bodies, replies
from unkai.runtime.logs import log
from unkai.runtime.signatures import Function, Health

READINESS: Final = "/health/readiness"
LIVENESS: Final = "/health/liveness"


class RuntimeApp:
    """Serves one :class:`~unkai.runtime.signatures.Function`; one per process."""

    def __init__(self, function: Function, *, max_body_size: int) -> None:
        self.function = function
        self.max_body_size = max_body_size
        self.started = False
        self.failed = False
        self.draining = False
        self.in_flight = 0
        self._handle = function.handle
        self._state: dict[str, Any] = {}
        self._started: asyncio.Event | None = None
        self._start_task: asyncio.Task[None] | None = None
        self.on_started: Callable[[bool], None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "lifespan":
                await self._lifespan(scope, receive, send)
            else:
                await self._handle(scope, receive, send)
            return
        path = scope["path"]
        if path == READINESS:
            await self._probe(scope, send, self._readiness)
            return
        if path == LIVENESS:
            await self._probe(scope, send, self.function.alive)
            return
        if not self.started and not await self._wait_started(scope):
            await replies.text(send, 503, "the function failed to start")
            return
        self.in_flight += 1
        limited = None
        try:
            length, chunked = _framing(scope["headers"])
            if length > self.max_body_size:
                await bodies.send_too_large(send, self.max_body_size)
                return
            if chunked:
                receive = limited = bodies.LimitedReceive(receive, send, self.max_body_size)
            await self._handle(scope, receive, send)
        except Exception as error:
            if not (limited is not None and limited.exceeded):
                await self._report(error, scope, send)
        finally:
            self.in_flight -= 1

    def drain(self) -> None:
        """Shutdown has begun: readiness answers 503 from now on."""
        self.draining = True

    async def _readiness(self) -> Health:
        if self.draining:
            return False, "shutting down"
        if not self.started:
            return False, "failed to start" if self.failed else "starting"
        return await self.function.ready()

    async def _probe(
        self, scope: Scope, send: Send, check: Callable[[], Awaitable[Health]]
    ) -> None:
        """Answer a probe: 200 or 503 as ``check`` says; 503 with an error id if it raises."""
        try:
            ok, message = await check()
        except Exception as error:
            ok, message = False, f"probe failed (error id {self._log_error(error, scope)})"
        await replies.text(send, 200 if ok else 503, message)

    async def _wait_started(self, scope: Scope) -> bool:
        """Wait for the start; whether it succeeded. Picks up the state it set."""
        assert self._started is not None, "requests arrive only after the lifespan startup"
        await self._started.wait()
        if "state" in scope:
            scope["state"].update(self._state)
        return self.started

    async def _report(self, error: Exception, scope: Scope, send: Send) -> None:
        if isinstance(error, ClientDisconnect):
            log.info("client disconnected", extra={"path": scope["path"]})
            return
        error_id = self._log_error(error, scope)
        # If the response had started, this raises and uvicorn closes the connection.
        with contextlib.suppress(RuntimeError):
            await replies.text(send, 500, f"Internal Server Error (error id {error_id})")

    @staticmethod
    def _log_error(error: Exception, scope: Scope) -> str:
        """Log the function's ``error`` with its traceback under a new error id; the id."""
        error_id = secrets.token_hex(8)
        log.error(
            "function raised %s: %s",
            type(error).__name__,
            error,
            exc_info=error,
            extra={"error_id": error_id, "method": scope["method"], "path": scope["path"]},
        )
        return error_id

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        self._state = scope.get("state", {})
        self._started = asyncio.Event()
        self._start_task = asyncio.create_task(self._start())
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        if self.started:
            try:
                await self.function.stop()
            except Exception as error:
                log.error("the function's stop failed: %s", error, exc_info=error)
        else:
            self._start_task.cancel()
        await send({"type": "lifespan.shutdown.complete"})

    async def _start(self) -> None:
        assert self._started is not None
        try:
            await self.function.start(dict(os.environ), self._state)
        except Exception as error:
            log.error("the function failed to start: %s", error, exc_info=error)
            self.failed = True
        else:
            self.started = True
            log.info("function started")
            if self.on_started is not None:
                self.on_started(await self._ready_now())
        self._started.set()

    async def _ready_now(self) -> bool:
        """Whether a readiness probe would pass now; a hook that raises says no here
        (the probe that follows logs its error)."""
        try:
            ok, _ = await self._readiness()
        except Exception:
            return False
        return ok


def _framing(headers: list[tuple[bytes, bytes]]) -> tuple[int, bool]:
    """The announced body length (0 if none) and whether the body comes chunked."""
    length, chunked = 0, False
    for name, value in headers:
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = True
    return length, chunked
