"""The ``wsgi`` signature: a WSGI app (Flask, Django, Falcon…) served through a2wsgi.

a2wsgi (a well-kept, dependency-free translator between ASGI and WSGI) builds the
``environ``, gives the app the request body as a file read from ``receive`` as the app
reads it, and streams the app's response iterable back. It runs every call of the app
on an executor; here that executor is the runtime's own for sync handlers (``workers``),
so a WSGI app runs as every sync handler does: on the thread that imported it, one
request at a time, or on ``runtime.syncWorkers`` threads when func.yaml opts in
(docs/runtime.md, "Sync handlers run where their module was imported").
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import Executor as FuturesExecutor
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Final, ParamSpec, TypeVar, cast

from a2wsgi.wsgi import WSGIResponder
from a2wsgi.wsgi_typing import WSGIApp
from starlette.types import Receive, Scope, Send

from unkai.runtime.signatures.base import Function
from unkai.runtime.workers import Executor

SEND_QUEUE: Final = 10  # a2wsgi's default: response chunks between the app and the loop
P = ParamSpec("P")
T = TypeVar("T")


class WsgiFunction(Function):
    """Serves a WSGI app; its calls run on the runtime's sync executor."""

    def __init__(self, app: WSGIApp, executor: Executor) -> None:
        self._app = app
        # a2wsgi asks for a ThreadPoolExecutor, but only hands it to run_in_executor,
        # which needs nothing but submit().
        self._executor = cast(ThreadPoolExecutor, _Submitting(executor))

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        # WSGIResponder is what a2wsgi's WSGIMiddleware runs per request, taking the
        # executor as an argument (the middleware makes its own thread pool).
        responder = WSGIResponder(self._app, self._executor, SEND_QUEUE)
        # a2wsgi types ASGI messages as TypedDicts, Starlette as plain mappings.
        await responder(scope, receive, send)  # type: ignore[arg-type]


class _Submitting(FuturesExecutor):
    """The runtime's :class:`~unkai.runtime.workers.Executor` as a ``concurrent.futures`` one."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        loop = asyncio.get_running_loop()  # a2wsgi submits from the event loop's thread
        call = self._executor.run(functools.partial(fn, *args, **kwargs))
        return asyncio.run_coroutine_threadsafe(call, loop)
