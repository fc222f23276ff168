"""``func.yaml``'s ``sink`` as the environment a Knative SinkBinding gives a function.

``K_SINK`` is the sink's URL: a ``uri`` as written, or the ``status.address.url`` of the
Broker or Service it names, read when the function is deployed (a SinkBinding keeps
watching it; Unkai reads it again on every deploy, and brokers' and services' addresses
do not change while they exist). A Service's address is cluster-local
(``http://{name}.{namespace}.svc.cluster.local``, as Knative's), which a function's
``send_event`` reaches through the platform's internal gateway (on a cluster, by DNS).
``K_CE_OVERRIDES`` is ``{"extensions": {...}}`` when the sink adds extensions, as
Knative's ``ceOverrides``.
"""

from __future__ import annotations

import json

import lightkube
from lightkube.core.exceptions import ApiError

from unkai.api import destinations
from unkai.api.funcyaml import Sink
from unkai.errors import TargetError
from unkai.kube import client, eventing, kinds


class SinkNotReadyError(TargetError):
    """The Broker or Service ``sink`` names does not exist yet, or has no address."""


def environment(
    api: lightkube.Client | None, sink: Sink, *, namespace: str, outside: bool = False
) -> dict[str, str]:
    """``K_SINK`` (and ``K_CE_OVERRIDES``) for a function whose func.yaml says ``sink``.

    ``api`` is ``None`` where no platform runs (``unkai run`` alone): a ``uri`` sink
    needs none, a Broker or Service is then :class:`client.NoTargetError`. ``outside``:
    the function does not run on the platform (``unkai run``), so a Service is reached
    by its public ``status.url``, not its cluster-local address."""
    destination = destinations.parse(sink.to)
    url = destination.get("uri") or _address(
        api, destination["ref"], namespace=namespace, outside=outside
    )
    env = {"K_SINK": url}
    if sink.extensions:
        env["K_CE_OVERRIDES"] = json.dumps({"extensions": sink.extensions}, sort_keys=True)
    return env


def _address(
    api: lightkube.Client | None, ref: dict[str, str], *, namespace: str, outside: bool
) -> str:
    kind = kinds.find(ref["apiVersion"], ref["kind"])
    assert kind is not None, ref
    name = ref["name"]
    if api is None:
        raise client.NoTargetError(
            f"{kind.kind} {name} has an address only on a platform, and none is running: "
            "start `unkai up`, or give the sink as a URL"
        )
    hint = f"`unkai broker create {name}`" if kind is kinds.BROKER else f"deploy {name} first"
    try:
        found = client.to_dict(api.get(kinds.resource(kind), name, namespace=namespace))
    except ApiError as error:
        if error.status.code != 404:
            raise
        raise SinkNotReadyError(
            f"sink: {kind.kind} {name} does not exist in namespace {namespace}: {hint}"
        ) from None
    address = eventing.address(found)
    if outside and kind is kinds.SERVICE:
        address = found.get("status", {}).get("url") or None
    if address is None:
        raise SinkNotReadyError(f"sink: {kind.kind} {name} has no address yet (not Ready)")
    return address
