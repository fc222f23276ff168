"""The function runtime: the server inside every instance and every built image.

It serves one function directory over HTTP (signatures http, cloudevent, asgi and event;
see docs/runtime.md), with health probes, body limits, error ids, structured logs and
graceful shutdown. The public surface:

* :func:`main` — the process entrypoint (``python -m unkai.runtime``, ``unkai runtime serve``);
* :func:`prepare` and :class:`Prepared` — prepare once, serve later (the fork-server seam);
  :class:`PreparedGrpc` for ``signature: grpc`` (``grpcserve``); :func:`warm`, for a
  fork-server to run the request path once before it forks (``warming``);
* :func:`load_spec`, :func:`environment` and :class:`LoadError` — for callers that run
  the steps of :func:`main` themselves;
* :class:`Request` — what an ``http`` function receives.
"""

from unkai.runtime.environment import environment
from unkai.runtime.grpcserve import PreparedGrpc
from unkai.runtime.loader import LoadError, load_spec
from unkai.runtime.process import main
from unkai.runtime.server import Prepared, prepare
from unkai.runtime.signatures import Request
from unkai.runtime.warming import warm

__all__ = [
    "LoadError",
    "Prepared",
    "PreparedGrpc",
    "Request",
    "environment",
    "load_spec",
    "main",
    "prepare",
    "warm",
]
