"""How Brokers, Triggers and PingSources look in a terminal: lists and ``describe``.

Shared by the ``broker``, ``trigger`` and ``source`` commands and by ``describe``
(command modules do not import each other). The counts come from
:mod:`unkai.kube.counts`; ``None`` there means the target does not tell them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from unkai.cli.tables import STATUS_STYLE, age
from unkai.kube.conditions import condition
from unkai.kube.counts import Counts


def destination(value: dict[str, Any] | None) -> str:
    """A Destination as the CLI's ``--sink`` would write it."""
    if not value:
        return ""
    ref, uri = value.get("ref"), value.get("uri", "")
    if not ref:
        return str(uri)
    prefix = {"Service": "ksvc:", "Broker": "broker:"}.get(ref.get("kind", ""), "")
    return f"{prefix}{ref.get('name', '')}{uri}"


def _ready(obj: dict[str, Any]) -> tuple[Text, str]:
    ready = condition(obj)
    status = ready.get("status", "Unknown")
    return Text(status, style=STATUS_STYLE.get(status, "")), ready.get("reason", "")


def listing(
    items: Iterable[dict[str, Any]], columns: dict[str, Any], *, now: datetime
) -> RenderableType:
    """A kubectl-like table: NAME, the ``columns`` (header -> value of an object), AGE,
    READY, REASON."""
    table = Table(box=None, header_style="bold")
    for header in ("NAME", *columns, "AGE", "READY", "REASON"):
        table.add_column(header)
    for obj in items:
        created = obj["metadata"].get("creationTimestamp")
        table.add_row(
            obj["metadata"]["name"],
            *(str(value(obj)) for value in columns.values()),
            age(created, now) if created else "",
            *_ready(obj),
        )
    return table


BROKER_COLUMNS = {"URL": lambda obj: (obj.get("status") or {}).get("address", {}).get("url", "")}
TRIGGER_COLUMNS = {
    "BROKER": lambda obj: obj["spec"].get("broker", ""),
    "SINK": lambda obj: destination(obj["spec"].get("subscriber")),
}
PING_COLUMNS = {
    "SCHEDULE": lambda obj: obj["spec"].get("schedule", ""),
    "SINK": lambda obj: destination(obj["spec"].get("sink")),
}


def describe(obj: dict[str, Any], counts: Counts | None) -> list[RenderableType]:
    """A Broker or Trigger: what it is, its counts, its conditions."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    header = Table.grid(padding=(0, 2))
    header.add_column(style="bold")
    header.add_column()
    header.add_row("Name", obj["metadata"]["name"])
    header.add_row("Namespace", obj["metadata"].get("namespace", ""))
    if obj["kind"] == "Broker":
        header.add_row("Address", (status.get("address") or {}).get("url", ""))
    else:
        header.add_row("Broker", spec.get("broker", ""))
        header.add_row("Subscriber", destination(spec.get("subscriber")))
        header.add_row("Subscriber URI", status.get("subscriberUri", ""))
        header.add_row("Filter", _filter(spec))
    dead_letter = (spec.get("delivery") or {}).get("deadLetterSink")
    if dead_letter:
        header.add_row("Dead-letter sink", destination(dead_letter))
    return [header, "", _counts(counts, broker=obj["kind"] == "Broker"), "", _conditions(status)]


def _filter(spec: dict[str, Any]) -> str:
    if spec.get("filters"):
        return json.dumps(spec["filters"])
    attributes = (spec.get("filter") or {}).get("attributes") or {}
    return ", ".join(f"{key}={value}" for key, value in attributes.items()) or "(every event)"


def _counts(counts: Counts | None, *, broker: bool) -> RenderableType:
    """A Broker's events accepted and its Triggers' sums, or one Trigger's figures."""
    if counts is None:
        return Text("Events: counts not available from this target (they come from unkai "
                    "up's /metrics, which needs the admin token)", style="italic")  # fmt: skip
    table = Table(title="Events", title_justify="left", box=None, header_style="bold")
    names = ("ACCEPTED", "DELIVERED", "RETRIED", "DEAD-LETTERED", "DROPPED", "QUEUED")
    skip = 0 if broker else 1  # a Trigger accepts nothing itself: its Broker does
    for name in names[skip:]:
        table.add_column(name, justify="right")
    table.add_row(*(str(value) for value in counts.values()[skip:]))
    return table


def _conditions(status: dict[str, Any]) -> RenderableType:
    table = Table(title="Conditions", title_justify="left", box=None, header_style="bold")
    for column in ("TYPE", "STATUS", "REASON", "MESSAGE"):
        table.add_column(column)
    for entry in status.get("conditions", []) or []:
        value = entry.get("status", "Unknown")
        table.add_row(
            entry.get("type", ""),
            Text(value, style=STATUS_STYLE.get(value, "")),
            entry.get("reason", ""),
            entry.get("message", ""),
        )
    return table
