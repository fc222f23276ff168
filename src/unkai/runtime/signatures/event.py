"""The ``event`` signature: ``handler(event: dict) -> dict``, JSON in and JSON out.

The shape of AWS Lambda and SeBS handlers. The request body is parsed as JSON (an empty
body is ``{}``; anything else that is not JSON gets 400); the return value is sent back
as JSON with 200, whatever the method.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.types import Receive, Scope, Send

from unkai.runtime import bodies, replies
from unkai.runtime.signatures.base import Function, caller
from unkai.runtime.workers import Workers


class EventFunction(Function):
    """Parses the body, calls ``handler(event)``, sends the result as JSON."""

    def __init__(self, handler: Callable[[Any], Any], workers: Workers) -> None:
        self._call = caller(handler, workers)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await bodies.read(receive)
        try:
            event = json.loads(body) if body.strip() else {}
        except ValueError as error:
            await replies.text(send, 400, f"the request body is not JSON: {error}")
            return
        result = await self._call(event)
        payload = json.dumps(result, separators=(",", ":")).encode()
        await replies.respond(send, 200, payload, content_type=replies.JSON)
