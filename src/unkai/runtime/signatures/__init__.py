"""One adapter per ``func.yaml`` signature, behind the small base in ``base``."""

from __future__ import annotations

from unkai.api.funcyaml import FuncSpec, Signature
from unkai.runtime import detection
from unkai.runtime.loader import Target
from unkai.runtime.signatures import knative_cloudevent
from unkai.runtime.signatures.asgi import AppFunction, InstanceFunction, is_factory
from unkai.runtime.signatures.base import Function, Health, is_async
from unkai.runtime.signatures.cloudevent import CloudEventFunction
from unkai.runtime.signatures.event import EventFunction
from unkai.runtime.signatures.http import HttpFunction, Request
from unkai.runtime.signatures.wsgi import WsgiFunction
from unkai.runtime.workers import Executor

__all__ = ["Function", "Health", "Request", "build", "is_sync"]


def build(target: Target, executor: Executor, spec: FuncSpec) -> Function:
    """The adapter serving ``target``; an asgi factory is called here, once."""
    match target.signature:
        case Signature.HTTP:
            return HttpFunction(target.obj, executor)
        case Signature.CLOUDEVENT if _is_asgi_shaped(target):
            return knative_cloudevent.build(target.obj, factory=is_factory(target.obj))
        case Signature.CLOUDEVENT:
            return CloudEventFunction(target.obj, executor)
        case Signature.WSGI:
            return WsgiFunction(target.obj, executor)
        case Signature.EVENT:
            return EventFunction(target.obj, executor, spec)
        case Signature.ASGI if is_factory(target.obj):
            return InstanceFunction(target.obj())
        case Signature.ASGI:
            return AppFunction(target.obj)
    raise AssertionError(target.signature)


def is_sync(target: Target) -> bool:
    """Whether ``target`` is a sync handler: a call that blocks a thread other than the loop's."""
    if target.signature is Signature.ASGI or _is_asgi_shaped(target):
        return False
    return not is_async(target.obj)


def _is_asgi_shaped(target: Target) -> bool:
    """A cloudevent target in Knative func's shape: ``new()`` or ``handle(scope, receive,
    send)``, anything that cannot be called as ``handle(event)``."""
    if target.signature is not Signature.CLOUDEVENT:
        return False
    takes = detection.arity(target.obj)
    return takes is not None and not takes.accepts(1)
