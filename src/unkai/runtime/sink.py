"""Send an event to the function's sink in one line: ``send_event(type, source, data)``.

A function whose func.yaml names a ``sink`` gets ``K_SINK`` (the sink's URL) and, with
extensions, ``K_CE_OVERRIDES`` in its environment, as a Knative SinkBinding gives a
container; the same code therefore works on ``unkai up`` and on a cluster. The event is
encoded by the official CloudEvents SDK in binary mode and POSTed with the standard
library's client (the runtime keeps its imports few: cold start pays for them). A URL
on ``*.localhost`` is reached on loopback with its host in ``Host``, as curl does. A
cluster-local URL (``*.svc.cluster.local``, ``*.svc``: what a Service's
``status.address.url`` is, so a func.yaml ``sink`` naming a Service gives one) is sent
to the platform's internal gateway, ``K_INTERNAL_GATEWAY``, with that name as ``Host``,
when the instance is given one (``unkai up``); on a cluster the name resolves as is.

The call blocks until the sink answers; from an ``async`` handler use
``await asyncio.to_thread(send_event, ...)``.
"""

from __future__ import annotations

import http.client
import json
import os
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cloudevents.core.bindings import http as binding
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from unkai.errors import TargetError, UserError

TIMEOUT = 30.0
INTERNAL_GATEWAY = "K_INTERNAL_GATEWAY"
"""The variable ``unkai up`` gives instances (``unkai.platform.runners.spec``)."""
CLUSTER_LOCAL = (".svc", ".svc.cluster.local")


class NoSinkError(UserError):
    """``send_event`` was called where no sink is bound (``K_SINK`` is not set)."""


class SinkRefusedError(TargetError):
    """The sink did not take the event: its answer was not a 2xx, or it was unreachable."""


def send_event(
    type: str,
    source: str,
    data: object = None,
    *,
    extensions: Mapping[str, str | int | bool] | None = None,
    subject: str | None = None,
    id: str | None = None,
    sink: str | None = None,
) -> int:
    """Send one CloudEvent to ``sink`` (default: ``K_SINK``); the sink's HTTP status.

    ``data``: a ``dict``/``list`` is sent as JSON, ``str`` as text, ``bytes`` as is.
    ``K_CE_OVERRIDES``' extensions are added, and win over ``extensions``, as Knative's
    ``ceOverrides`` do. Raises :class:`NoSinkError` without a sink and
    :class:`SinkRefusedError` when it does not answer 2xx.
    """
    url = sink or os.environ.get("K_SINK")
    if not url:
        raise NoSinkError(
            "no sink: K_SINK is not set. `unkai deploy` and `unkai run` set it from "
            "func.yaml's sink (`unkai run` warned if it could not), or export K_SINK"
        )
    attributes: dict[str, object] = {
        "type": type, "source": source, "id": id or str(uuid.uuid4()),
        "time": datetime.now(UTC), **(extensions or {}), **_overrides(),
    }  # fmt: skip
    if subject is not None:
        attributes["subject"] = subject
    if data is not None:
        attributes["datacontenttype"] = _content_type(data)
    event = CloudEvent(attributes, data)  # type: ignore[arg-type]
    message = binding.to_binary(event, JSONFormat())
    return _post(url, dict(message.headers), message.body)


def _overrides() -> dict[str, object]:
    text = os.environ.get("K_CE_OVERRIDES")
    if not text:
        return {}
    extensions = json.loads(text).get("extensions") or {}
    return dict(extensions)


def _content_type(data: object) -> str:
    if isinstance(data, bytes):
        return "application/octet-stream"
    if isinstance(data, str):
        return "text/plain; charset=utf-8"
    return "application/json"


def _post(url: str, headers: dict[str, str], body: bytes) -> int:
    parts = urlsplit(url)
    scheme, connect, port = _connect_to(parts.scheme, parts.hostname or "", parts.port)
    kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    connection = kind(connect, port, timeout=TIMEOUT)
    headers["Host"] = parts.netloc
    try:
        connection.request("POST", parts.path or "/", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read(1024)
    except OSError as error:
        raise SinkRefusedError(f"cannot reach the sink {url}: {error}{_hint(connect)}") from None
    finally:
        connection.close()
    if not 200 <= response.status < 300:
        text = answer.decode(errors="replace").strip()
        raise SinkRefusedError(f"the sink {url} answered {response.status}: {text}")
    return response.status


def _connect_to(scheme: str, host: str, port: int | None) -> tuple[str, str, int | None]:
    """Where to open the connection for a URL on ``host``: the internal gateway for a
    cluster-local name when there is one, loopback for ``*.localhost``, else the host."""
    gateway = os.environ.get(INTERNAL_GATEWAY)
    if gateway and host.lower().rstrip(".").endswith(CLUSTER_LOCAL):
        proxy = urlsplit(gateway)
        return proxy.scheme, proxy.hostname or "127.0.0.1", proxy.port
    if host == "localhost" or host.endswith(".localhost"):
        return scheme, "127.0.0.1", port
    return scheme, host, port


def _hint(host: str) -> str:
    if not host.lower().rstrip(".").endswith(CLUSTER_LOCAL):
        return ""
    return (
        f" ({INTERNAL_GATEWAY} is not set: a cluster-local name resolves on a cluster, and"
        " on `unkai up` only where instances reach its internal gateway, not under"
        " --private-network or in containers)"
    )
