"""Prepare once, serve later: the split a fork-server needs.

Why it pays: ``docs/architecture.md``, "Cold start is a fork".

:func:`prepare` does everything that is the same for every instance of a function:
read ``func.yaml``, import the module, build the ASGI app and load uvicorn's config. It
starts no event loop and no thread, so a zygote can call it once and ``os.fork()``
children that call :meth:`Prepared.serve` with a listening socket bound before the fork
and answer their first request right away::

    prepared = prepare(directory)            # in the zygote
    sock = socket.create_server(("127.0.0.1", 0))
    if os.fork() == 0:                       # in each child
        os._exit(prepared.serve(sock))

Shutdown works like a Knative container's: on SIGTERM (or Ctrl+C) readiness answers
503 at once while the listener stays open and requests in flight finish; once none are
in flight, or ``runtime.grace_period`` is up, uvicorn closes the listener, finishes open
connections within what is left of the grace period, and the function's ``stop()`` runs.
The exit status is 0 then; 1 when the function failed to start. A second signal ends
the process without waiting. Either way the process ends within the grace period, even
if sync handlers are still running in their threads (see :meth:`Prepared.serve`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import NoReturn

import uvicorn

from unkai.api.funcyaml import FuncSpec, Signature
from unkai.runtime import loader, signatures
from unkai.runtime.app import RuntimeApp
from unkai.runtime.logs import log
from unkai.runtime.workers import Workers

EXIT_OK = 0
EXIT_START_FAILED = 1


@dataclass(frozen=True)
class Prepared:
    """A function ready to serve: imported, wrapped, configured; nothing running yet."""

    spec: FuncSpec
    signature: Signature
    app: RuntimeApp
    config: uvicorn.Config
    workers: Workers

    def serve(self, *sockets: socket.socket) -> int:
        """Serve until shut down; return the process exit status. Call once per process.

        With ``sockets`` (bound and listening: TCP, Unix, or both), serve on all of them;
        otherwise bind the config's host and port. Sync handlers still running when the
        grace period is over cannot be stopped, and Python would wait for their threads
        before exiting: then this ends the process itself, with the same exit status.
        """
        for sock in sockets:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                # asyncio sets TCP_NODELAY only on sockets it made itself; without it,
                # uvicorn's two writes per response meet Nagle and delayed ACKs: ~40 ms
                # stalls on keep-alive connections. Accepted sockets inherit it.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        server = _Server(self.config, self.app, grace_period=self.spec.runtime.grace_period)
        try:
            server.run(sockets=list(sockets) or None)
        finally:
            running = self.workers.shutdown(timeout=server.time_left())
        if running:
            log.warning(
                "exiting with sync handlers still running: the grace period is over",
                extra={"running": running},
            )
            _exit_now(server.exit_code)
        return server.exit_code


def prepare(
    directory: Path,
    *,
    spec: FuncSpec | None = None,
    host: str = "0.0.0.0",
    port: int = 8080,
) -> Prepared:
    """Load the function in ``directory`` and get everything ready to serve it.

    ``spec`` is ``func.yaml`` when the caller has read it already (:func:`loader.load_spec`).
    Raises :class:`loader.LoadError` when the function cannot be served. The caller
    applies the function's environment first (see ``environment``), since the module is
    imported here.
    """
    spec = spec or loader.load_spec(directory)
    target = loader.load(directory, spec)
    workers = Workers(spec.runtime.sync_workers)
    try:
        function = signatures.build(target, workers, spec)
    except Exception as error:
        raise loader.LoadError(f"{target.entrypoint}: {error}") from error
    app = RuntimeApp(function, max_body_size=spec.runtime.max_body_size)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="auto",
        http="httptools",
        ws="auto" if target.signature is Signature.ASGI else "none",
        lifespan="on",
        access_log=False,
        log_config=None,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=math.ceil(spec.runtime.grace_period),
    )
    config.load()
    log.info(
        "function loaded",
        extra={
            "function": spec.name,
            "entrypoint": target.entrypoint,
            "signature": target.signature,
        },
    )
    return Prepared(spec, target.signature, app, config, workers)


class _Server(uvicorn.Server):
    """uvicorn's server, draining on SIGTERM as the module docstring describes."""

    def __init__(self, config: uvicorn.Config, app: RuntimeApp, *, grace_period: float) -> None:
        super().__init__(config)
        self._app = app
        self._grace_period = grace_period
        self._deadline: float | None = None
        self.exit_code = EXIT_OK

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Unlike uvicorn's, does not re-raise the signal after shutdown: exit status 0.
        if self._deadline is not None:
            self.should_exit = self.force_exit = True
            return
        self._deadline = time.monotonic() + self._grace_period
        self._app.drain()
        log.info(
            "shutting down",
            extra={"signal": signal.Signals(sig).name, "in_flight": self._app.in_flight},
        )

    def time_left(self) -> float:
        """Seconds left to finish: the grace period, less what went since the signal."""
        if self.force_exit:
            return 0
        if self._deadline is None:
            return self._grace_period
        return max(self._deadline - time.monotonic(), 0)

    async def on_tick(self, counter: int) -> bool:
        if await super().on_tick(counter):
            return True
        if self._app.failed:
            self.exit_code = EXIT_START_FAILED
            return True
        if self._deadline is None:
            return False
        remaining = self._deadline - time.monotonic()
        if self._app.in_flight and remaining > 0:
            return False
        self.config.timeout_graceful_shutdown = max(math.ceil(remaining), 0)
        return True


def _exit_now(status: int) -> NoReturn:
    """End the process without waiting for its threads, once what was written is out."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)
