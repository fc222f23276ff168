"""Test a function in-process, through the real runtime: ``FunctionClient(directory)``.

What a scaffold's ``test_func.py`` uses. The function is loaded exactly as an instance
loads it (``func.yaml``, signature, body limit, error handling, ``start``/``stop``), and
requests go through the runtime's ASGI app with Starlette's test client, so a test sees
what a caller of the deployed function would see, without a port or a process.

The function's ``env`` from ``func.yaml`` is applied to ``os.environ`` while the client
is open and restored when it closes, because the module reads it at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from cloudevents.core.base import BaseCloudEvent
from starlette.testclient import TestClient

from unkai.events import http as ce_http
from unkai.runtime import environment, load_spec, prepare


class FunctionClient(TestClient):
    """A Starlette ``TestClient`` for the function in ``directory``; use it with ``with``."""

    def __init__(self, directory: Path | str, **client_options: Any) -> None:
        self.directory = Path(directory)
        spec = load_spec(self.directory)
        self._saved_environ = dict(os.environ)
        os.environ.update(environment(spec, os.environ))
        prepared = prepare(self.directory, spec=spec, host="127.0.0.1", port=0)
        client_options.setdefault("raise_server_exceptions", False)
        super().__init__(prepared.app, **client_options)

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            super().__exit__(exc_type, exc_value, traceback)
        finally:
            os.environ.clear()
            os.environ.update(self._saved_environ)

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
