"""The ``cloudevent`` signature: ``handle(event)`` gets a CloudEvent, may return one.

Requests come in binary, structured or batched mode (``unkai.events.http``); a reply goes
back in the mode of the request. Statuses, following Knative's data plane:

* 200 with the reply event(s) when the function returned any (for a batch: the
  non-``None`` replies, as a batch);
* 202 Accepted, no body, when it returned ``None`` (for every event of a batch);
* 400 with the reason when the request is not a valid CloudEvent;
* 405 when the method is not POST.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from starlette.types import Receive, Scope, Send

from unkai.events import http as codec
from unkai.runtime import bodies, replies, sdkcodec
from unkai.runtime.signatures.base import Function, caller
from unkai.runtime.workers import Executor


class CloudEventFunction(Function):
    """Decodes events, calls ``handle(event)`` for each, encodes the replies."""

    def __init__(self, handler: Callable[[BaseCloudEvent], Any], executor: Executor) -> None:
        self._call = caller(handler, executor)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            await replies.respond(
                send, 405, b"CloudEvents are sent with POST\n", headers=[(b"allow", b"POST")]
            )
            return
        body = await bodies.read(receive)
        try:
            mode, events = sdkcodec.decode(request_headers(scope), body)
        except codec.InvalidEventError as error:
            await replies.text(send, 400, str(error))
            return
        answers = []
        for event in events:
            answer = await self._call(event)
            if answer is not None and not isinstance(answer, codec.EVENT_CLASSES):
                raise TypeError(
                    f"handler returned {type(answer).__name__}: return a CloudEvent or None"
                )
            if answer is not None:
                answers.append(answer)
        if not answers:
            await replies.respond(send, 202)
            return
        await send_message(send, 200, sdkcodec.encode(answers, mode))


def request_headers(scope: Scope) -> dict[str, str]:
    """The request's headers the codec reads (ASGI gives lower-case names): the
    ``ce-`` ones and ``content-type``, not the client's ``host``, ``user-agent``, ..."""
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope["headers"]
        if name.startswith(b"ce-") or name == b"content-type"
    }


async def send_message(send: Send, status: int, message: tuple[sdkcodec.Headers, bytes]) -> None:
    """Send an encoded CloudEvents message (ASGI headers, body) as the whole response."""
    headers, body = message
    await replies.respond(send, status, body, content_type=None, headers=headers)
