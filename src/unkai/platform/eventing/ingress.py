"""Broker ingress: ``POST /{namespace}/{broker}`` on the gateway's port, as Knative's.

The gateway hands a request here (:meth:`BrokerIngress.claims`) when its host is the
broker-ingress host (``broker-ingress.knative-eventing.{domain}``), or names no route
and its path names a known broker (so ``curl http://127.0.0.1:8080/default/default``
works with no Host trick). Answers follow Knative's ``ingress_handler.go``:

* ``OPTIONS``: 200 with ``Allow: POST, OPTIONS`` and the webhook headers; another
  method than POST: 405;
* path ``/``: 404; a path that is not ``/{namespace}/{broker}``: 400;
* a broker that does not exist or is not Ready: 404;
* a body over :data:`MAX_BODY_BYTES`: 413;
* not a valid CloudEvent (binary, structured or batched): 400 saying why;
* stored durably (:mod:`.store`): 202; the store failing: 503.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from unkai.events import codec
from unkai.events.http import InvalidEventError
from unkai.platform.contracts import NamespacedName
from unkai.platform.eventing.brokers import Brokers, TTLExhaustedError
from unkai.platform.eventing.store import EventStoreError

MAX_BODY_BYTES: Final = 4 * 1024 * 1024
_ALLOW: Final = (("allow", "POST, OPTIONS"),)
_WEBHOOK: Final = (
    ("allow", "POST, OPTIONS"),
    ("webhook-allowed-origin", "*"),
    ("webhook-allowed-rate", "*"),
)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = field(default=())


class BrokerIngress:
    """Decodes, validates and stores events sent to a broker's address.

    It answers on the gateway's own loop (``any_loop``): :meth:`Brokers.accept` may
    run there, so an event is parsed, stored and answered without crossing threads."""

    max_body = MAX_BODY_BYTES
    any_loop = True

    def __init__(self, brokers: Brokers, *, domain: str) -> None:
        self.brokers = brokers
        self.host = f"broker-ingress.knative-eventing.{domain}".encode()

    def claims(self, host: bytes, path: bytes) -> bool:
        """Whether a request for ``host`` (which no route serves) is the broker's."""
        if host.partition(b":")[0].lower() == self.host:
            return True
        key = _broker(path)
        return key is not None and key in self.brokers.ready

    async def handle(
        self, method: bytes, path: bytes, headers: Sequence[tuple[bytes, bytes]], body: bytes
    ) -> Response:
        if method == b"OPTIONS":
            return Response(200, headers=_WEBHOOK)
        if method != b"POST":
            return Response(405, b"method not allowed: send events with POST\n", _ALLOW)
        if path.partition(b"?")[0] in (b"/", b""):
            return Response(404, b"no broker named: POST to /{namespace}/{broker}\n")
        key = _broker(path)
        if key is None:
            return Response(400, b"malformed path: expected /{namespace}/{broker}\n")
        if key not in self.brokers.ready:
            return Response(404, f"broker {key} does not exist or is not Ready\n".encode())
        if len(body) > self.max_body:
            return Response(413, f"event larger than {self.max_body} bytes\n".encode())
        try:
            fields = {name.decode("latin-1").lower(): value.decode() for name, value in headers}
        except UnicodeDecodeError:
            return Response(400, b"invalid CloudEvent: a header is not valid UTF-8\n")
        try:
            _, events = codec.decode(fields, body)
            await self.brokers.accept(key, events)
        except (InvalidEventError, TTLExhaustedError) as error:
            self.brokers.metrics.refused.labels(*key, "400").inc()
            return Response(400, f"{error}\n".encode())
        except EventStoreError as error:
            self.brokers.metrics.refused.labels(*key, "503").inc()
            return Response(503, f"{error}\n".encode())
        return Response(202)


def _broker(path: bytes) -> NamespacedName | None:
    parts = path.partition(b"?")[0].strip(b"/").split(b"/")
    if len(parts) != 2 or not all(parts):
        return None
    try:
        return NamespacedName(parts[0].decode(), parts[1].decode())
    except UnicodeDecodeError:
        return None
