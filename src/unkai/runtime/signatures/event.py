"""The ``event`` signature: ``handler(event) -> dict``, JSON in and JSON out.

The shape of AWS Lambda and SeBS handlers. The request body is parsed as JSON (an empty
body is ``{}``; anything else that is not JSON gets 400); the return value is sent back
as JSON with 200, whatever the method. A handler that takes a second argument,
``handler(event, context)`` (Lambda's and OpenFaaS's shape), gets a
:class:`~unkai.runtime.signatures.context.Context` as well.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from starlette.types import Receive, Scope, Send

from unkai.api.funcyaml import FuncSpec
from unkai.runtime import bodies, detection, replies
from unkai.runtime.signatures.base import Function, caller
from unkai.runtime.signatures.context import ContextFactory
from unkai.runtime.workers import Executor


class EventFunction(Function):
    """Parses the body, calls ``handler(event[, context])``, sends the result as JSON."""

    def __init__(self, handler: Callable[..., Any], executor: Executor, spec: FuncSpec) -> None:
        self._call = caller(handler, executor)
        takes = detection.arity(handler)
        self._context = ContextFactory(spec) if takes is not None and takes.accepts(2) else None

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        arrived = time.monotonic()
        body = await bodies.read(receive)
        try:
            event = json.loads(body) if body.strip() else {}
        except ValueError as error:
            await replies.text(send, 400, f"the request body is not JSON: {error}")
            return
        if self._context is None:
            result = await self._call(event)
        else:
            result = await self._call(event, self._context(scope, arrived))
        await replies.respond(send, 200, replies.json_body(result), content_type=replies.JSON)
