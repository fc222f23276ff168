"""The ``asgi`` signature: Knative-func instanced functions and plain ASGI apps.

* An instance from a factory (``new()``), Knative func's Python shape: an object with
  ``async handle(scope, receive, send)`` and, optionally, ``start(cfg)`` (``cfg`` is a
  copy of the environment), ``stop()``, ``alive()`` and ``ready()``. The hooks may be
  sync or async; ``alive``/``ready`` return a bool or ``(bool, message)``. Sync
  ``start``/``stop`` run on the event loop's thread, where ``handle`` runs, as
  func-python calls them: what ``start`` makes (a SQLite connection, a client bound to
  its thread) then works in ``handle``. The loop waits meanwhile, so a probe is
  answered once a sync ``start`` returns (readiness says "starting" until then anyway).
* An ASGI app (``app``, or any ``(scope, receive, send)`` callable): served unchanged,
  its lifespan (startup, shutdown) included.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp

from unkai.runtime import detection
from unkai.runtime.signatures.base import Function, Health, is_async
from unkai.runtime.signatures.lifespan import Lifespan


class InstanceFunction(Function):
    """A Knative-func style instance; its hooks are optional."""

    def __init__(self, instance: Any) -> None:
        if not is_async(getattr(instance, "handle", None)):
            raise TypeError(
                f"{type(instance).__name__} has no `async def handle(scope, receive, send)`"
            )
        self.handle = instance.handle
        self._instance = instance

    async def start(self, env: dict[str, str], state: dict[str, Any]) -> None:
        await _run_hook(getattr(self._instance, "start", None), env)

    async def stop(self) -> None:
        await _run_hook(getattr(self._instance, "stop", None))

    async def alive(self) -> Health:
        return await _probe(getattr(self._instance, "alive", None), "alive")

    async def ready(self) -> Health:
        return await _probe(getattr(self._instance, "ready", None), "ready")


class AppFunction(Function):
    """An ASGI app, served as it is; its lifespan runs as the function's start and stop."""

    def __init__(self, app: ASGIApp) -> None:
        if inspect.isfunction(app) and not is_async(app):
            raise TypeError(f"{app.__name__}(scope, receive, send) must be `async def`")
        self.handle = app
        self._lifespan: Lifespan | None = None

    async def start(self, env: dict[str, str], state: dict[str, Any]) -> None:
        self._lifespan = Lifespan(self.handle)
        await self._lifespan.startup(state)

    async def stop(self) -> None:
        if self._lifespan is not None:
            await self._lifespan.shutdown()


def is_factory(obj: Any) -> bool:
    """Whether ``obj`` is called with no arguments to make the instance (like ``new``)."""
    takes = detection.arity(obj)
    return takes is not None and takes.accepts(0)


async def _run_hook(hook: Callable[..., Any] | None, *args: Any) -> None:
    if hook is None:
        return
    result = hook(*args)  # here, on the loop's thread: see the module docstring
    if inspect.isawaitable(result):
        await result


async def _probe(hook: Callable[[], Any] | None, what: str) -> Health:
    if hook is None:
        return True, what
    result = hook()
    if inspect.isawaitable(result):
        result = await result
    if isinstance(result, tuple):
        ok, message = result
        return bool(ok), str(message)
    return bool(result), what if result else f"not {what}"
