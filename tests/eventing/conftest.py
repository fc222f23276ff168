"""An embedded platform in-process (API server, controllers, gateway, brokers) and a
recording subscriber: a real HTTP server on a loopback port that answers as told."""

import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.e2e.conftest import RunningPlatform, platform  # noqa: F401 (fixture)
from unkai.kube import kinds


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Subscriber:
    """Records every request; ``answers`` (status, headers, body) are used in turn,
    then 202 for the rest."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, count: int, *, timeout: float = 20) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"{len(self.received)} requests arrived, wanted {count}")


@contextmanager
def serving(recorder: Subscriber, tls: ssl.SSLContext | None = None) -> Iterator[Subscriber]:
    """``recorder`` answering on a loopback port (its ``url``) until the block ends;
    over TLS with ``tls``, a server context."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with recorder.lock:
                recorder.received.append(
                    Received({k.lower(): v for k, v in self.headers.items()}, body)
                )
                status, headers, reply = (
                    recorder.answers.pop(0) if recorder.answers else (202, {}, b"")
                )
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls else "http"
    recorder.url = f"{scheme}://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    with serving(Subscriber()) as recorder:
        yield recorder


def ready(obj: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (obj.get("status") or {}).get("conditions", [])
    )


def apply(running: RunningPlatform, manifest: dict[str, Any]) -> kinds.Kind:
    """Apply ``manifest`` in ``default``; its kind, for ``running.wait_for``."""
    kind = kinds.find(manifest["apiVersion"], manifest["kind"])
    assert kind is not None
    manifest.setdefault("metadata", {}).setdefault("namespace", "default")
    obj = kinds.resource(kind).from_dict(json.loads(json.dumps(manifest)))
    running.client().apply(obj, force=True)
    return kind


def broker(name: str = "default", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker",
            "metadata": {"name": name}, "spec": spec}  # fmt: skip


def trigger(name: str, uri: str, *, broker: str = "default", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "eventing.knative.dev/v1", "kind": "Trigger", "metadata": {"name": name},
            "spec": {"broker": broker, "subscriber": {"uri": uri}, **spec}}  # fmt: skip
