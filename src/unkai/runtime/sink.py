"""Send an event to the function's sink in one line: ``send_event(type, source, data)``.

A function whose func.yaml names a ``sink`` gets ``K_SINK`` (the sink's URL) and, with
extensions, ``K_CE_OVERRIDES`` in its environment, as a Knative SinkBinding gives a
container; the same code therefore works on ``unkai up`` and on a cluster. The event is
checked and encoded in binary mode by the lean codec (``unkai.events.codec``; the SDK's
binding costs several times more, and wrote a ``list`` as Python's repr, not JSON) and
POSTed with the standard library's client (the runtime keeps its imports few: cold
start pays for them). A URL on ``*.localhost`` is reached on loopback with its host in
``Host``, as curl does. A cluster-local URL (``*.svc.cluster.local``, ``*.svc``: what a
Service's ``status.address.url`` is, so a func.yaml ``sink`` naming a Service gives
one) is sent to the platform's internal gateway, ``K_INTERNAL_GATEWAY``, with that name as ``Host``,
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

from unkai.errors import TargetError, UserError
from unkai.events import codec

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
    ``ceOverrides`` do. Raises :class:`NoSinkError` without a sink,
    :class:`~unkai.events.http.InvalidEventError` naming an attribute the event cannot
    carry (an extension name not of ``a-z0-9``, an empty ``type``, ...) and
    :class:`SinkRefusedError` when the sink does not answer 2xx.
    """
    url = sink or os.environ.get("K_SINK")
    if not url:
        raise NoSinkError(
            "no sink: K_SINK is not set. `unkai deploy` and `unkai run` set it from "
            "func.yaml's sink (`unkai run` warned if it could not), or export K_SINK"
        )
    now = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    attributes: dict[str, object] = {
        "specversion": "1.0", "type": type, "source": source, "id": id or str(uuid.uuid4()),
        "time": now, **(extensions or {}), **_overrides(),
    }  # fmt: skip
    if subject is not None:
        attributes["subject"] = subject
    if data is not None:
        attributes["datacontenttype"] = _content_type(data)
    checked = codec.from_document(attributes)
    headers, body = codec.encode_binary(codec.Event(checked.attributes, _body(data)))
    return _post(url, headers, body)


def _overrides() -> dict[str, object]:
    text = os.environ.get("K_CE_OVERRIDES")
    if not text:
        return {}
    extensions = json.loads(text).get("extensions") or {}
    return dict(extensions)


def _body(data: object) -> bytes | None:
    if data is None or isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode()
    return json.dumps(data).encode()


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
