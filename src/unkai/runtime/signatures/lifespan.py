"""Driving an ASGI app's own lifespan (startup and shutdown), e.g. a FastAPI app's.

The runtime answers uvicorn's lifespan itself, so that it listens and answers health
probes while the function starts; the wrapped app's lifespan is run from here instead,
sharing uvicorn's lifespan ``state`` so ``request.state`` works as usual. As in uvicorn's
``auto`` mode, an app that ends or raises on the lifespan scope before answering the
startup is taken not to support lifespan, and serves without it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Message

from unkai.errors import UserError


class LifespanFailedError(UserError):
    """The app answered ``lifespan.startup.failed`` or ``lifespan.shutdown.failed``."""


class Lifespan:
    """One run of an app's lifespan protocol: :meth:`startup`, then :meth:`shutdown`."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self.supported = True

    async def startup(self, state: dict[str, Any]) -> None:
        self._task = asyncio.create_task(self._run(state))
        answer = await self._exchange("lifespan.startup")
        if answer is None:
            self.supported = False
        elif answer["type"] == "lifespan.startup.failed":
            raise LifespanFailedError(answer.get("message") or "the app's startup failed")

    async def shutdown(self) -> None:
        if not self.supported:
            return
        answer = await self._exchange("lifespan.shutdown")
        if answer is None:
            raise LifespanFailedError(f"the app's lifespan ended with {self._error!r}")
        if answer["type"] == "lifespan.shutdown.failed":
            raise LifespanFailedError(answer.get("message") or "the app's shutdown failed")

    async def _exchange(self, event: str) -> Message | None:
        await self._to_app.put({"type": event})
        return await self._from_app.get()

    async def _run(self, state: dict[str, Any]) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": state,
        }
        try:
            await self._app(scope, self._to_app.get, self._from_app.put)
        except Exception as error:
            self._error = error
        finally:
            await self._from_app.put(None)
