"""Telling how to call the user's callable: its signature, and whether it fits it.

Without ``signature:`` in func.yaml, the signature is judged from the callable's name,
how many positional arguments it requires, and its first parameter:

* a WSGI app: called synchronously with two arguments, the second named
  ``start_response`` as in PEP 3333 (Flask's ``app``, Django's ``application``, a Falcon
  ``App``), or a plain function of two named ``app`` or ``application``: **wsgi**;
* ``new`` or ``app``, anything else that is not a plain function, or a function taking
  no argument (a factory) or requiring three (``scope, receive, send``): **asgi**;
* a function requiring two (``event, context``, the Lambda and OpenFaaS shape): **event**;
* one (or none, but a first parameter with a default): by the first parameter's
  annotation, ``Request`` → **http**, a CloudEvent class → **cloudevent**, ``dict``
  (``dict[str, Any]`` and ``typing.Dict`` too) → **event**; else a function named
  ``handler`` → **event**; else by the parameter's name: ``request``/``req`` → **http**,
  ``event``/``cloudevent``/``ce`` → **cloudevent**.

Annotations written as strings (``from __future__ import annotations``) are evaluated,
and judged by name when they cannot be (a ``TYPE_CHECKING`` import).

Detected or configured, the signature must be able to call the callable (:func:`misfit`),
so that a mismatch stops the process when it loads instead of failing every request;
a WSGI app under another signature, or an async app under wsgi, gets a hint saying which
signature it is written for.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import Request

from unkai.api.funcyaml import Signature
from unkai.events import http as events_http

# The calls each signature makes: (number of positional arguments, how it reads).
CALLS: Final[Mapping[Signature, tuple[tuple[int, str], ...]]] = {
    Signature.HTTP: ((1, "handle(request)"),),
    Signature.CLOUDEVENT: (
        (1, "handle(event)"),
        (0, "new()"),  # Knative func's cloudevents template (signatures.knative_cloudevent)
        (3, "handle(scope, receive, send)"),
    ),
    Signature.EVENT: ((1, "handler(event)"), (2, "handler(event, context)")),
    Signature.ASGI: ((0, "new()"), (3, "handle(scope, receive, send)")),
    Signature.WSGI: ((2, "app(environ, start_response)"),),
    Signature.GRPC: ((1, "handle(server)"),),
}
_WSGI_NAMES: Final = ("app", "application")
_PARAMETER_NAMES: Final = {
    "request": Signature.HTTP,
    "req": Signature.HTTP,
    "event": Signature.CLOUDEVENT,
    "cloudevent": Signature.CLOUDEVENT,
    "ce": Signature.CLOUDEVENT,
}
# Annotations that could not be evaluated, by the name of their outer type.
_ANNOTATION_NAMES: Final = {
    "Request": Signature.HTTP,
    "CloudEvent": Signature.CLOUDEVENT,
    "BaseCloudEvent": Signature.CLOUDEVENT,
    "dict": Signature.EVENT,
    "Dict": Signature.EVENT,
}
_POSITIONAL: Final = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@dataclass(frozen=True)
class Arity:
    """How many positional arguments a callable takes: ``required`` up to ``most``."""

    required: int
    most: float  # math.inf with *args

    def accepts(self, count: int) -> bool:
        return self.required <= count <= self.most


def arity(obj: Any) -> Arity | None:
    """The positional arguments ``obj`` takes; ``None`` when it cannot be inspected."""
    parameters = _parameters(obj)
    if parameters is None:
        return None
    positional = [p for p in parameters if p.kind in _POSITIONAL]
    required = sum(1 for p in positional if p.default is p.empty)
    variadic = any(p.kind is p.VAR_POSITIONAL for p in parameters)
    return Arity(required, math.inf if variadic else len(positional))


def is_async(function: Any) -> bool:
    """Whether calling ``function`` returns a coroutine (functions and callable objects)."""
    if inspect.iscoroutinefunction(function):
        return True
    return callable(function) and inspect.iscoroutinefunction(type(function).__call__)


def is_wsgi(name: str, obj: Any) -> bool:
    """Whether ``obj`` (found as ``name``) is a WSGI app: see the module docstring."""
    parameters = _parameters(obj)
    if parameters is None or is_async(obj):
        return False
    positional = [p for p in parameters if p.kind in _POSITIONAL]
    if sum(1 for p in positional if p.default is p.empty) != 2:
        return False
    if positional[1].name == "start_response":  # PEP 3333's name: Flask, Django, Falcon
        return True
    return name in _WSGI_NAMES and (inspect.isfunction(obj) or inspect.ismethod(obj))


def detect(name: str, obj: Any) -> Signature | None:
    """The signature ``obj`` (found as ``name``) is written for; ``None`` if it cannot tell."""
    if is_wsgi(name, obj):
        return Signature.WSGI
    if name in ("new", "app") or not (inspect.isfunction(obj) or inspect.ismethod(obj)):
        return Signature.ASGI
    positional = [p for p in _parameters(obj) or [] if p.kind in _POSITIONAL]
    required = sum(1 for p in positional if p.default is p.empty)
    if not positional or required == 3:
        return Signature.ASGI
    if required == 2:
        return Signature.EVENT
    if required > 1:
        return None
    first = positional[0]  # required, or a default the runtime will not use
    by_annotation = _by_annotation(first.annotation)
    if by_annotation is not None:
        return by_annotation
    if name == "handler":
        return Signature.EVENT
    return _PARAMETER_NAMES.get(first.name)


def misfit(signature: Signature, obj: Any, name: str = "") -> str | None:
    """Why ``signature`` cannot call ``obj`` (found as ``name``), or ``None`` when it can
    (or cannot tell). Under cloudevent, only ``new`` is a factory, as in func-python."""
    wsgi_app = is_wsgi("", obj)  # takes (environ, start_response)
    if signature is not Signature.WSGI and wsgi_app:
        return (
            f"is a WSGI app (Flask, Django, Falcon…; called as app(environ, start_response)),"
            f" which the {signature} signature cannot serve: set `signature: wsgi` in"
            " func.yaml, or leave `signature:` out to have it detected"
        )
    if signature is Signature.WSGI and not wsgi_app and is_async(obj):
        return (
            "is async, so not a WSGI app: an ASGI app (FastAPI, Starlette, Django's"
            " ASGIHandler…) is served with `signature: asgi`, or leave `signature:` out"
        )
    calls = [
        (count, shape)
        for count, shape in CALLS[signature]
        if not (signature is Signature.CLOUDEVENT and count == 0 and name != "new")
    ]
    takes = arity(obj)
    if takes is None or any(takes.accepts(count) for count, _ in calls):
        return None
    called = " or ".join(shape for _, shape in calls)
    return f"takes {inspect.signature(obj)}, but the {signature} signature calls it as {called}"


def shapes(signature: Signature) -> str:
    """How ``signature`` calls a function, e.g. ``handler(event) or handler(event, context)``."""
    return " or ".join(shape for _, shape in CALLS[signature])


def _by_annotation(annotation: Any) -> Signature | None:
    if isinstance(annotation, str):
        return _ANNOTATION_NAMES.get(annotation.partition("[")[0].rpartition(".")[2].strip())
    kind = typing.get_origin(annotation) or annotation
    if not isinstance(kind, type):
        return None
    if issubclass(kind, Request):
        return Signature.HTTP
    if issubclass(kind, events_http.EVENT_CLASSES):
        return Signature.CLOUDEVENT
    if issubclass(kind, dict):
        return Signature.EVENT
    return None


def _parameters(obj: Any) -> list[inspect.Parameter] | None:
    """``obj``'s parameters, annotations evaluated when they can all be."""
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    # Any error evaluating a string annotation leaves them all strings, judged by name.
    with contextlib.suppress(Exception):
        signature = inspect.signature(obj, eval_str=True)
    return list(signature.parameters.values())
