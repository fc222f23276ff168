"""An embedded platform in-process (API server, controllers, gateway, brokers), a
recording subscriber: a real HTTP server on a loopback port that answers as told, and
the relay function behind a broker (:func:`relay_behind_broker`)."""

import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LivePlatform, RunningPlatform, platform  # noqa: F401 (fixture)
from unkai.kube import kinds
from unkai.platform import bundles

RELAY = Path(__file__).parent / "functions" / "relay"


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


def relay_behind_broker(
    live: LivePlatform, subscriber: Subscriber, *, labels: dict[str, str] | None = None
) -> None:
    """The scene of a function subscribed to a broker, all Ready: the relay function
    (``functions/relay``) as Service ``relay`` (with ``labels``), the ``default``
    broker, Trigger ``to-relay`` sending it ``com.example.order`` events (its
    subscriber URI checked), and Trigger ``relayed`` sending its replies
    (``com.example.relayed``) to ``subscriber``."""
    digest = live.platform.bundles.of("default").put(bundles.pack(RELAY))
    image = bundles.format_reference(namespace="default", name="relay", digest=digest)
    metadata = {"name": "relay", **({"labels": labels} if labels else {})}
    live.wait_for("relay", ready, timeout=60, kind=apply(live, {
        "apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": metadata,
        "spec": {"template": {"spec": {"containers": [{"image": image}]}}},
    }))  # fmt: skip
    live.wait_for("default", ready, kind=apply(live, broker()))
    ref = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "relay"}
    to_relay = {"apiVersion": "eventing.knative.dev/v1", "kind": "Trigger",
                "metadata": {"name": "to-relay"},
                "spec": {"broker": "default", "subscriber": {"ref": ref},
                         "filter": {"attributes": {"type": "com.example.order"}}}}  # fmt: skip
    found = live.wait_for("to-relay", ready, kind=apply(live, to_relay))
    assert found["status"]["subscriberUri"] == "http://relay.default.svc.cluster.local"
    relayed = {"filter": {"attributes": {"type": "com.example.relayed"}}}
    live.wait_for("relayed", ready, kind=apply(live, trigger("relayed", subscriber.url, **relayed)))
