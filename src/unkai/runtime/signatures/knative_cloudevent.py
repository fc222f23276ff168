"""Knative func's cloudevents template: an ASGI ``handle`` that finds the event decoded.

Under the cloudevent signature, a callable that cannot take ``handle(event)`` is served
as func-python's CloudEvents middleware serves it: a factory ``new()`` (the template's
shape: an instance with ``async handle(scope, receive, send)`` and the optional
``start``/``stop``/``alive``/``ready`` hooks, see ``asgi``) or a module-level ``async
handle(scope, receive, send)``. For each request:

* the request's CloudEvent (binary or structured mode) is decoded and put in
  ``scope["event"]``, a ``cloudevents.core.v1.event.CloudEvent`` (SDK v2); the body has
  been read, so ``receive`` has nothing more to give;
* ``send`` is wrapped: ``await send(event)`` (or ``send(event, status)``) replies with
  ``event`` in **structured** mode, as func-python's ``send`` does (its code, which the
  template's docstring follows); ``send.structured(event, status=200)`` and
  ``send.binary(event, status=200)`` choose the mode; ``send.http(message)`` sends a
  raw ASGI message, and so does ``send(message)`` given a message (a mapping);
* a request that is not a CloudEvent gets 400 with the reason, as in func-python;
  batched mode too (``scope["event"]`` holds one event).

Where Unkai differs from func-python, on purpose: an exception from ``handle`` gets the
runtime's 500 with an error id (func-python replies with a ``dev.functions.error``
CloudEvent carrying the exception's text, which may leak internals); probes follow the
runtime's contract (503 when not alive or ready; func-python answers 500).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unkai.events import http as codec
from unkai.runtime import bodies, replies, sdkcodec
from unkai.runtime.signatures.asgi import InstanceFunction
from unkai.runtime.signatures.base import Function, is_async
from unkai.runtime.signatures.cloudevent import request_headers, send_message


class CloudEventSender:
    """The ``send`` a handle gets: func-python's, taking CloudEvents."""

    def __init__(self, send: Send) -> None:
        self._send = send

    async def __call__(self, event: BaseCloudEvent | Message, status: int = 200) -> None:
        if isinstance(event, Mapping):
            await self._send(event)
        else:
            await self.structured(event, status)

    async def structured(self, event: BaseCloudEvent, status: int = 200) -> None:
        await self._reply(event, codec.Mode.STRUCTURED, status)

    async def binary(self, event: BaseCloudEvent, status: int = 200) -> None:
        await self._reply(event, codec.Mode.BINARY, status)

    async def http(self, message: Message) -> None:
        await self._send(message)

    async def _reply(self, event: BaseCloudEvent, mode: codec.Mode, status: int) -> None:
        if not isinstance(event, codec.EVENT_CLASSES):
            raise TypeError(f"send() got {type(event).__name__}: send a CloudEvent")
        await send_message(self._send, status, sdkcodec.encode([event], mode))


class DecodingFunction(Function):
    """Decodes the request's event into the scope, then calls the ASGI ``handle``."""

    def __init__(self, inner: Function) -> None:
        self._inner = inner
        self._handle: Callable[[Scope, Receive, Any], Awaitable[None]] = inner.handle

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await bodies.read(receive)
        try:
            mode, events = sdkcodec.decode(request_headers(scope), body)
        except codec.InvalidEventError as error:
            await replies.text(send, 400, f"Bad Request: {error}")
            return
        if mode is codec.Mode.BATCH:
            await replies.text(send, 400, "Bad Request: send one event, not a batch")
            return
        await self._handle({**scope, "event": events[0]}, receive, CloudEventSender(send))

    async def start(self, env: dict[str, str], state: dict[str, Any]) -> None:
        await self._inner.start(env, state)

    async def stop(self) -> None:
        await self._inner.stop()

    async def alive(self) -> tuple[bool, str]:
        return await self._inner.alive()

    async def ready(self) -> tuple[bool, str]:
        return await self._inner.ready()


def build(obj: Any, *, factory: bool) -> Function:
    """The adapter for ``new`` (``factory``) or a module-level ASGI ``handle``."""
    if factory:
        return DecodingFunction(InstanceFunction(obj()))
    handle: ASGIApp = obj
    return DecodingFunction(_Handle(handle))


class _Handle(Function):
    """A module-level ``handle(scope, receive, send)``: no hooks, as in func-python."""

    def __init__(self, handle: ASGIApp) -> None:
        if not is_async(handle):
            raise TypeError("handle(scope, receive, send) must be `async def`")
        self.handle = handle
