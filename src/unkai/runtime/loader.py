"""Finding the function: ``func.yaml``, the module, the callable and its signature.

The signature is what ``func.yaml`` says; without ``signature:`` it is detected:

* ``new()`` (a factory) or ``app`` (an ASGI app), or a callable taking no arguments
  (a factory) or ``(scope, receive, send)``: **asgi**;
* a first parameter annotated ``starlette.requests.Request`` or named ``request``/``req``:
  **http**; annotated with a CloudEvent class or named ``event``/``cloudevent``/``ce``:
  **cloudevent**; annotated ``dict`` or a function named ``handler``: **event**.

Without ``entrypoint:`` the module is ``func`` and the callable the signature's
conventional name (``handle``; ``handler`` for event; ``new`` or ``app`` for asgi); with
no signature either, exactly one of ``new``, ``app``, ``handle``, ``handler`` must exist.
A directory without ``func.yaml`` is served with the defaults and a name derived from
the directory. Every problem is a :class:`LoadError` whose text says what to change.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from starlette.requests import Request

from unkai.api import funcyaml, yamlsource
from unkai.api.funcyaml import FuncSpec, Signature
from unkai.events import http as events_http

CONVENTIONAL_NAMES: Final[Mapping[Signature, tuple[str, ...]]] = {
    Signature.HTTP: ("handle",),
    Signature.CLOUDEVENT: ("handle",),
    Signature.EVENT: ("handler",),
    Signature.ASGI: ("new", "app"),
}
_DETECTABLE: Final = ("new", "app", "handle", "handler")
_PARAMETER_NAMES: Final = {
    "request": Signature.HTTP,
    "req": Signature.HTTP,
    "event": Signature.CLOUDEVENT,
    "cloudevent": Signature.CLOUDEVENT,
    "ce": Signature.CLOUDEVENT,
}


class LoadError(Exception):
    """The function directory cannot be served as it is; the text says why."""


@dataclass(frozen=True)
class Target:
    """The user's callable and how to call it."""

    signature: Signature
    obj: Any
    entrypoint: str


def load_spec(directory: Path) -> FuncSpec:
    """``func.yaml`` of ``directory``, or defaults named after the directory."""
    if not directory.is_dir():
        raise LoadError(f"{directory}: not a directory")
    if (directory / funcyaml.FILENAME).exists():
        try:
            return funcyaml.load(directory)
        except yamlsource.SourceError as error:
            raise LoadError(str(error)) from None
    name = re.sub(r"[^a-z0-9]+", "-", directory.resolve().name.lower()).strip("-")
    if not re.match(funcyaml.DNS_LABEL, name):
        raise LoadError(f"{directory}: no func.yaml, and {name!r} is not a usable name")
    return FuncSpec.model_validate({"name": name})


def load(directory: Path, spec: FuncSpec) -> Target:
    """Import the function's module from ``directory`` and pick its callable.

    The directory goes first on ``sys.path`` so the module can import its siblings.
    """
    module = _import(directory, spec.module)
    if "entrypoint" in spec.model_fields_set:
        name = spec.function
        if not callable(getattr(module, name, None)):
            raise LoadError(f"entrypoint {spec.entrypoint}: {spec.module} has no callable {name}")
        candidates = [name]
    elif spec.signature is not None:
        names = CONVENTIONAL_NAMES[spec.signature]
        candidates = [name for name in names if callable(getattr(module, name, None))][:1]
        if not candidates:
            wanted = " or ".join(names)
            raise LoadError(f"signature {spec.signature}: {spec.module} defines no {wanted}")
    else:
        candidates = [name for name in _DETECTABLE if callable(getattr(module, name, None))]
        if not candidates:
            raise LoadError(
                f"{spec.module} defines none of {', '.join(_DETECTABLE)}: write handle(request)"
                " or set `entrypoint:` in func.yaml"
            )
        if len(candidates) > 1:
            raise LoadError(
                f"ambiguous: {spec.module} defines {' and '.join(candidates)}; set `signature:`"
                " (and `entrypoint:`) in func.yaml to say which one to serve"
            )
    name = candidates[0]
    obj = getattr(module, name)
    entrypoint = f"{spec.module}:{name}"
    return Target(spec.signature or detect(name, obj, entrypoint), obj, entrypoint)


def detect(name: str, obj: Any, entrypoint: str) -> Signature:
    """The signature of ``obj`` judged from its name, arity and first parameter."""
    if name in ("new", "app") or not (inspect.isfunction(obj) or inspect.ismethod(obj)):
        return Signature.ASGI
    parameters = _positional(obj)
    if len(parameters) in (0, 3):
        return Signature.ASGI
    if parameters:
        annotation = parameters[0].annotation
        if isinstance(annotation, type):
            if issubclass(annotation, Request):
                return Signature.HTTP
            if issubclass(annotation, events_http.EVENT_CLASSES):
                return Signature.CLOUDEVENT
            if issubclass(annotation, dict):
                return Signature.EVENT
        if name == "handler":
            return Signature.EVENT
        if parameters[0].name in _PARAMETER_NAMES:
            return _PARAMETER_NAMES[parameters[0].name]
    raise LoadError(
        f"cannot tell how to call {entrypoint}: name its parameter `request` (http) or"
        " `event` (cloudevent), annotate it, or set `signature:` in func.yaml"
    )


def _positional(obj: Any) -> list[inspect.Parameter]:
    try:
        signature = inspect.signature(obj, eval_str=True)
    except (NameError, TypeError, ValueError):
        signature = inspect.signature(obj)
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p for p in signature.parameters.values() if p.kind in kinds]


def _import(directory: Path, module: str) -> ModuleType:
    path = str(directory.resolve())
    if path not in sys.path:
        sys.path.insert(0, path)
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name == module.partition(".")[0]:
            raise LoadError(f"{directory}: no module {module!r} (write {module}.py)") from None
        raise LoadError(f"importing {module} failed: {error}") from error
    except Exception as error:
        raise LoadError(f"importing {module} failed: {error!r}") from error
