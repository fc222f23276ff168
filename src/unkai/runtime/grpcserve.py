"""``signature: grpc``: the function registers gRPC services, the runtime serves them.

A gRPC function is ``handle(server)``: it adds its servicers to the ``grpc.Server`` it
is given (``add_GreeterServicer_to_server(Greeter(), server)``, as grpcio's generated
code does). Its revision's port is named ``h2c``, so the gateway relays HTTP/2 to it.

Why not uvicorn: gRPC needs HTTP/2 with trailers, which uvicorn does not speak; grpcio
(the function's own requirement: the runtime does not depend on it) is the server
every gRPC Python service runs on. Its server starts threads, so it is made in
:meth:`PreparedGrpc.serve`, after a zygote's fork, never in :func:`prepare`.

grpcio binds its own listeners and cannot adopt a socket. A TCP socket a fork-server
bound is closed and its address given to grpcio. A Unix socket's path may not even be
visible here (a sandboxed instance has its own ``/tmp``), so grpcio listens on a socket
in a private directory and the runtime relays each connection accepted on the given
socket to it (:func:`_relay`: a thread per connection, copying both ways; an extra copy
of every byte, the price of grpcio's API). The runtime adds the standard health service
(``grpc.health.v1.Health/Check``, what a ``grpc`` probe calls): ``SERVING`` while it
serves, ``NOT_SERVING`` once it drains, as ``/health/readiness`` answers 503 then.
Shutdown on SIGTERM or SIGINT: calls in flight get ``runtime.grace_period`` to finish.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import tempfile
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, Final

from unkai.api.funcyaml import FuncSpec
from unkai.runtime.loader import LoadError, Target
from unkai.runtime.logs import log

HEALTH: Final = "grpc.health.v1.Health"
SERVING: Final = b"\x08\x01"  # HealthCheckResponse{status: SERVING}, protobuf-encoded
NOT_SERVING: Final = b"\x08\x02"
CHUNK: Final = 256 * 1024
WORKERS: Final = 16
"""Threads running calls: each call (a streaming one for its whole life) holds one."""


@dataclass(frozen=True)
class PreparedGrpc:
    """A gRPC function imported and checked; nothing running yet."""

    spec: FuncSpec
    register: Callable[[Any], None]
    host: str
    port: int
    _draining: threading.Event = field(default_factory=threading.Event)

    def serve(self, *sockets: socket.socket, started: Callable[[bool], None] | None = None) -> int:
        """Serve on the addresses of ``sockets`` (else ``host:port``) until a signal;
        the exit status. ``started(True)`` once grpcio serves (a fork-server's instance
        tells the platform so rather than being polled, as :mod:`unkai.runtime.server`)."""
        import grpc  # type: ignore[import-untyped]  # the function's requirement

        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})  # threads too
        private = tempfile.mkdtemp(prefix="unkai-grpc-")
        addresses = [_release(sock, private) for sock in sockets]
        addresses = addresses or [f"{self.host}:{self.port}"]
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=WORKERS))
        health = grpc.unary_unary_rpc_method_handler(self._check)
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(HEALTH, {"Check": health}),)
        )
        self.register(server)
        for address in addresses:
            if not server.add_insecure_port(address):
                log.error("cannot listen", extra={"address": address})
                return 1
        server.start()
        if started is not None:
            started(True)
        log.info("serving gRPC", extra={"function": self.spec.name, "addresses": addresses})
        signal.sigwait({signal.SIGTERM, signal.SIGINT})
        self._draining.set()
        server.stop(self.spec.runtime.grace_period).wait()
        return 0

    def _check(self, request: bytes, context: object) -> bytes:
        return NOT_SERVING if self._draining.is_set() else SERVING


def prepare(target: Target, spec: FuncSpec, *, host: str, port: int) -> PreparedGrpc:
    """Check that grpcio is there for ``target`` (``handle(server)``)."""
    try:
        import grpc  # noqa: F401  # only checked here: its threads start in serve()
    except ImportError:
        raise LoadError(
            f"{target.entrypoint}: signature grpc needs grpcio; add it to the function's"
            " requirements"
        ) from None
    return PreparedGrpc(spec, target.obj, host, port)


def _release(sock: socket.socket, private: str) -> str:
    """The address grpcio is to listen on for ``sock``: its own (closed) for TCP; a
    path in ``private`` that a relay from a Unix ``sock`` leads to."""
    if sock.family == socket.AF_UNIX:
        path = os.path.join(private, f"{sock.fileno()}.sock")
        threading.Thread(target=_accept, args=(sock, path), name="unkai-relay", daemon=True).start()
        return f"unix:{path}"
    host, port = sock.getsockname()[:2]
    sock.close()
    return f"{host}:{port}"


def _accept(listener: socket.socket, path: str) -> None:
    """Relay every connection to ``listener`` to grpcio's socket at ``path``."""
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_relay, args=(client, path), daemon=True).start()


def _relay(client: socket.socket, path: str) -> None:
    """Copy bytes both ways between ``client`` and grpcio until both sides are done."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with client, server, selectors.DefaultSelector() as selector:
        try:
            server.connect(path)
        except OSError:
            return  # not listening (yet, or any more): the client sees the close
        peers = {client: server, server: client}
        for sock in peers:
            selector.register(sock, selectors.EVENT_READ)
        while peers:
            for key, _ in selector.select():
                source = key.fileobj
                assert isinstance(source, socket.socket)
                try:
                    data = source.recv(CHUNK)
                    if data:
                        peers[source].sendall(data)
                        continue
                    peers[source].shutdown(socket.SHUT_WR)
                except OSError:
                    return
                selector.unregister(source)
                del peers[source]
