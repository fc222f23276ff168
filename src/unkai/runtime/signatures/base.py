"""The shape every signature adapter has, and calling user code sync or async.

An adapter turns HTTP requests into calls of the user's function. The runtime calls its
``handle`` for every request and its lifecycle hooks around them; variants live in the
sibling modules, one per ``func.yaml`` signature.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp

from unkai.runtime.detection import is_async as is_async
from unkai.runtime.workers import Executor

Health = tuple[bool, str]


class Function:
    """A function with no lifecycle: nothing to start or stop, always alive and ready.

    Subclasses set :attr:`handle`, the raw ASGI callable for one request, as an attribute
    (not a method) so an ASGI app can be used as it is, without a layer in between.
    """

    handle: ASGIApp

    async def start(self, env: dict[str, str], state: dict[str, Any]) -> None:
        """Called once the server listens, before any request reaches :attr:`handle`.

        ``env`` is a copy of the environment; ``state`` is the ASGI lifespan state that
        every request's ``scope["state"]`` is copied from.
        """

    async def stop(self) -> None:
        """Called once on shutdown, after the requests in flight have finished."""

    async def alive(self) -> Health:
        return True, "alive"

    async def ready(self) -> Health:
        return True, "ready"


def caller(function: Callable[..., Any], executor: Executor) -> Callable[..., Awaitable[Any]]:
    """An async call of a handler: direct when async, on the ``executor`` when sync.

    Decided once when the function is loaded, not on every request.
    """
    if is_async(function):
        return function

    async def on_executor(*arguments: Any) -> Any:
        return await executor.run(function, *arguments)

    return on_executor
