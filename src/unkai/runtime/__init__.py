"""The function runtime: the server inside every instance and every built image.

It serves one function directory over HTTP (signatures http, cloudevent, asgi and event;
see docs/runtime.md), with health probes, body limits, error ids, structured logs and
graceful shutdown. The public surface:

* :func:`main` — the process entrypoint (``python -m unkai.runtime``, ``unkai runtime serve``);
* :func:`prepare` and :class:`Prepared` — prepare once, serve later (the fork-server seam);
  :class:`PreparedGrpc` for ``signature: grpc`` (``grpcserve``); :func:`warm`, for a
  fork-server to run the request path once before it forks (``warming``);
* :func:`load_spec` and :class:`LoadError` (and :func:`.environment.environment`) — for
  callers that run the steps of :func:`main` themselves;
* :class:`Request` — what an ``http`` function receives.

These load on first use (PEP 562): ``unkai up`` imports two small modules of this
package (``logs``, ``lifeline``), which runs this file, and must not pay for the server,
func.yaml's pydantic models and the CloudEvents SDK while nothing is deployed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from unkai.runtime.grpcserve import PreparedGrpc
    from unkai.runtime.loader import LoadError, load_spec
    from unkai.runtime.process import main
    from unkai.runtime.server import Prepared, prepare
    from unkai.runtime.signatures import Request
    from unkai.runtime.warming import warm

_HOMES = {
    "PreparedGrpc": "grpcserve",
    "LoadError": "loader",
    "load_spec": "loader",
    "main": "process",
    "Prepared": "server",
    "prepare": "server",
    "Request": "signatures",
    "warm": "warming",
}

__all__ = [
    "LoadError",
    "Prepared",
    "PreparedGrpc",
    "Request",
    "load_spec",
    "main",
    "prepare",
    "warm",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use; anything else is missing
    (so that ``from unkai.runtime import loader`` imports the submodule)."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
