"""Test a function in-process, through the real runtime: ``FunctionClient(directory)``.

What a scaffold's ``test_func.py`` uses. The function is loaded exactly as an instance
loads it (``func.yaml``, signature, body limit, error handling, ``start``/``stop``), and
requests go through the runtime's ASGI app with Starlette's test client, so a test sees
what a caller of the deployed function would see, without a port or a process.

The function's ``env`` from ``func.yaml`` is applied to ``os.environ`` while the client
is open and restored when it closes, because the module reads it at import time.
Likewise ``sys.path``, and the modules the client imported from the function's
directory are forgotten when it closes, so the next client imports them afresh, as a
new instance would: module-level state does not leak from one test into the next, and
tests of several functions, each with its own ``func.py``, run in one pytest session
(``pytest --import-mode=importlib fn-a fn-b``), each against its own function.

A sync handler runs where an instance runs it, on the thread that imported it (unless
``runtime.syncWorkers`` says otherwise): the test's thread, which serves the handler's
calls while it waits for a response from the app's event loop on the client's thread.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar, cast

from anyio.from_thread import BlockingPortal
from cloudevents.core.base import BaseCloudEvent
from starlette.testclient import TestClient

from unkai.events import http as ce_http
from unkai.runtime import PreparedGrpc, load_spec, loader, prepare
from unkai.runtime.environment import environment
from unkai.runtime.importing import ImportingThread

T = TypeVar("T")


class FunctionClient(TestClient):
    """A Starlette ``TestClient`` for the function in ``directory``; use it with ``with``."""

    def __init__(self, directory: Path | str, **client_options: Any) -> None:
        self.directory = Path(directory)
        spec = load_spec(self.directory)
        self._saved_environ = dict(os.environ)
        self._saved_path = list(sys.path)
        self._saved_modules = dict(sys.modules)
        os.environ.update(environment(spec, os.environ))
        try:
            prepared = prepare(self.directory, spec=spec, host="127.0.0.1", port=0)
            if isinstance(prepared, PreparedGrpc):
                raise loader.LoadError(
                    f"{self.directory}: signature grpc is served by grpcio, not over ASGI:"
                    " call it with a gRPC client (run it with `unkai up` and `unkai deploy`)"
                )
        except BaseException:
            self._restore()
            raise
        self._sync_calls = prepared.importing_thread
        client_options.setdefault("raise_server_exceptions", False)
        super().__init__(prepared.app, **client_options)

    @contextlib.contextmanager
    def _portal_factory(self) -> Iterator[BlockingPortal]:
        # Starlette's client waits for the app through its portal's blocking ``call``.
        with super()._portal_factory() as portal:
            if self._sync_calls is None:
                yield portal
            else:
                yield cast(BlockingPortal, _ServingPortal(portal, self._sync_calls))

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            super().__exit__(exc_type, exc_value, traceback)
        finally:
            self._restore()

    def _restore(self) -> None:
        os.environ.clear()
        os.environ.update(self._saved_environ)
        sys.path[:] = self._saved_path
        # Modules of another function the load replaced or dropped come back (clients
        # may be open at once); the ones it added from this directory are forgotten.
        for name, module in self._saved_modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
        loader.forget(self.directory, sys.modules.keys() - self._saved_modules.keys())

    def send_event(
        self,
        event: BaseCloudEvent,
        *,
        mode: Literal["binary", "structured"] = "binary",
        path: str = "/",
    ) -> BaseCloudEvent | None:
        """POST one CloudEvent; the reply event, or ``None`` when the function sent none.

        Any other answer (a 4xx or 5xx) raises ``httpx2.HTTPStatusError``.
        """
        message = ce_http.encode([event], ce_http.Mode(mode))
        response = self.post(path, content=message.body, headers=message.headers)
        response.raise_for_status()
        if response.status_code in (202, 204) or not response.content:
            return None
        headers = {name.lower(): value for name, value in response.headers.items()}
        return ce_http.decode(headers, response.content)[1][0]


class _ServingPortal:
    """A portal whose blocking ``call`` runs the sync handler's calls while it waits."""

    def __init__(self, portal: BlockingPortal, calls: ImportingThread) -> None:
        self._portal = portal
        self._calls = calls

    def call(self, function: Callable[..., T], *args: Any) -> T:
        done = self._portal.start_task_soon(function, *args)
        self._calls.serve(until=done)
        return done.result()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._portal, name)
