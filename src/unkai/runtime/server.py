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

A sync handler runs on the thread that imported it (``importing``), so :meth:`Prepared.serve`,
called on that thread, keeps it for the handler's calls and runs the event loop on a
thread of its own, started then (after a zygote's fork): probes, draining and async
work go on while a long call runs. Python runs signal handlers on the main thread only,
and only between bytecodes, so a signal would wait for the call running there; instead,
the C-level handler writes the signal's number to a socket (``signal.set_wakeup_fd``)
that the loop reads at once. Functions without a sync handler there (async handlers,
asgi, ``runtime.syncWorkers``) keep the loop on the calling thread, with uvicorn's own
signal handling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Final, NoReturn

import uvicorn

from unkai.api.funcyaml import FuncSpec, Signature
from unkai.runtime import grpcserve, loader, signatures
from unkai.runtime.app import RuntimeApp
from unkai.runtime.grpcserve import PreparedGrpc
from unkai.runtime.importing import ImportingThread
from unkai.runtime.logs import log
from unkai.runtime.workers import Workers

EXIT_OK = 0
EXIT_START_FAILED = 1
SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class Prepared:
    """A function ready to serve: imported, wrapped, configured; nothing running yet."""

    spec: FuncSpec
    signature: Signature
    app: RuntimeApp
    config: uvicorn.Config
    executor: ImportingThread | Workers
    sync: bool  # the handler is sync: it runs on ``executor``

    @property
    def importing_thread(self) -> ImportingThread | None:
        """The sync handler's calls when they run on the thread calling :meth:`serve`."""
        return self.executor if self.sync and isinstance(self.executor, ImportingThread) else None

    def serve(self, *sockets: socket.socket, started: Callable[[bool], None] | None = None) -> int:
        """Serve until shut down; return the process exit status. Call once per process,
        on the thread that called :func:`prepare` (which imported the function).

        With ``sockets`` (bound and listening: TCP, Unix, or both), serve on all of them;
        otherwise bind the config's host and port. ``started(ready)`` is called once the
        function has started, with whether its readiness passes then (see
        :attr:`RuntimeApp.on_started`): a fork-server's instance tells the platform so,
        rather than being polled. Sync handlers still running when the grace period
        is over cannot be stopped, and Python would wait for their threads before
        exiting: then this ends the process itself, with the same exit status.
        """
        for sock in sockets:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                # asyncio sets TCP_NODELAY only on sockets it made itself; without it,
                # uvicorn's two writes per response meet Nagle and delayed ACKs: ~40 ms
                # stalls on keep-alive connections. Accepted sockets inherit it.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        listeners = list(sockets) or None
        self.app.on_started = started
        grace_period = self.spec.runtime.grace_period
        calls = self.importing_thread
        if calls is None:
            server = _Server(self.config, self.app, grace_period=grace_period)
            try:
                server.run(sockets=listeners)
            finally:
                _finish(server, self.executor)
            return server.exit_code
        failed: list[BaseException] = []
        with _signals_written() as signals:
            server = _Server(self.config, self.app, grace_period=grace_period, signals=signals)

            def run_server() -> None:
                try:
                    server.run(sockets=listeners)
                except BaseException as error:  # e.g. uvicorn's SystemExit when it cannot bind
                    failed.append(error)
                finally:
                    _finish(server, calls)

            # A daemon: if the calls here end in an error, exiting must not wait for it.
            loop_thread = threading.Thread(target=run_server, name="unkai-server", daemon=True)
            loop_thread.start()
            calls.serve()
            loop_thread.join()
        if failed:
            raise failed[0]
        return server.exit_code


def prepare(
    directory: Path,
    *,
    spec: FuncSpec | None = None,
    host: str = "0.0.0.0",
    port: int = 8080,
) -> Prepared | PreparedGrpc:
    """Load the function in ``directory`` and get everything ready to serve it.

    ``spec`` is ``func.yaml`` when the caller has read it already (:func:`loader.load_spec`).
    Raises :class:`loader.LoadError` when the function cannot be served. The caller
    applies the function's environment first (see ``environment``), since the module is
    imported here.
    """
    spec = spec or loader.load_spec(directory)
    target = loader.load(directory, spec)
    if target.signature is Signature.GRPC:
        return grpcserve.prepare(target, spec, host=host, port=port)
    workers = spec.runtime.sync_workers
    executor = ImportingThread() if workers is None else Workers(workers)
    try:
        function = signatures.build(target, executor, spec)
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
    # uvicorn imports its event loop (uvloop) when it starts serving: done here, a
    # fork-server's instances do not each pay for that import (~8 ms) after the fork.
    config.get_loop_factory()
    log.info(
        "function loaded",
        extra={
            "function": spec.name,
            "entrypoint": target.entrypoint,
            "signature": target.signature,
        },
    )
    return Prepared(spec, target.signature, app, config, executor, sync=signatures.is_sync(target))


class _Server(uvicorn.Server):
    """uvicorn's server, draining on SIGTERM as the module docstring describes."""

    def __init__(
        self,
        config: uvicorn.Config,
        app: RuntimeApp,
        *,
        grace_period: float,
        signals: socket.socket | None = None,
    ) -> None:
        super().__init__(config)
        self._app = app
        self._grace_period = grace_period
        self._signals = signals
        self._deadline: float | None = None
        self.exit_code = EXIT_OK

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """uvicorn's handlers, or, given ``signals``, the signal numbers read from it."""
        if self._signals is None:
            with super().capture_signals():
                yield
            return
        fd = self._signals.fileno()
        loop = asyncio.get_running_loop()
        loop.add_reader(fd, self._read_signals)
        try:
            yield
        finally:
            loop.remove_reader(fd)

    def _read_signals(self) -> None:
        assert self._signals is not None
        with contextlib.suppress(BlockingIOError):
            for signum in self._signals.recv(64):
                self.handle_exit(signum, None)

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


def _finish(server: _Server, executor: ImportingThread | Workers) -> None:
    """Stop the sync calls; end the process now if one outlives the grace period."""
    running = executor.shutdown(timeout=server.time_left())
    if running:
        log.warning(
            "exiting with sync handlers still running: the grace period is over",
            extra={"running": running},
        )
        _exit_now(server.exit_code)


@contextlib.contextmanager
def _signals_written() -> Iterator[socket.socket | None]:
    """SIGINT and SIGTERM as bytes on the socket yielded, whatever this thread is doing.

    The C-level handler writes to the wakeup fd as the signal arrives; the Python-level
    one (it must exist for that) does nothing. Only the main thread may set them: on
    another, None (and, as with uvicorn there, no signal handling).
    """
    if threading.current_thread() is not threading.main_thread():
        yield None
        return
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    previous = {signum: signal.signal(signum, _written_only) for signum in SIGNALS}
    try:
        yield reader
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        signal.set_wakeup_fd(previous_fd)
        reader.close()
        writer.close()


def _written_only(signum: int, frame: FrameType | None) -> None:
    """The loop acts on the byte written to the wakeup fd (see ``_signals_written``)."""


def _exit_now(status: int) -> NoReturn:
    """End the process without waiting for its threads, once what was written is out."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)
