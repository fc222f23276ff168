"""How services, revisions and traffic look in a terminal (rich tables)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from unkai.kube.conditions import condition

STATUS_STYLE = {"True": "green", "False": "red", "Unknown": "yellow"}


def age(timestamp: str, now: datetime) -> str:
    """How long ago ``timestamp`` (RFC 3339) was, as kubectl's AGE column shows it."""
    seconds = int((now - datetime.fromisoformat(timestamp)).total_seconds())
    for unit, size, below in (("s", 1, 120), ("m", 60, 120), ("h", 3600, 48)):
        if seconds < size * below:
            return f"{max(seconds, 0) // size}{unit}"
    return f"{seconds // 86400}d"


def _status(value: str) -> Text:
    return Text(value, style=STATUS_STYLE.get(value, ""))


def services(items: Iterable[dict[str, Any]], *, now: datetime) -> RenderableType:
    table = Table(box=None, header_style="bold")
    for column in ("NAME", "URL", "LATEST", "AGE", "READY", "REASON"):
        table.add_column(column)
    for service in items:
        metadata, status = service["metadata"], service.get("status", {})
        ready = condition(service)
        created = metadata.get("creationTimestamp")
        table.add_row(
            metadata["name"],
            status.get("url", ""),
            status.get("latestReadyRevisionName", ""),
            age(created, now) if created else "",
            _status(ready.get("status", "Unknown")),
            ready.get("reason", ""),
        )
    return table


def revisions(service: dict[str, Any], items: list[dict[str, Any]]) -> RenderableType:
    traffic: dict[str, list[str]] = {}
    for target in service.get("status", {}).get("traffic", []) or []:
        label = f"{target.get('percent', 0)}%"
        if target.get("tag"):
            label += f" #{target['tag']}"
        traffic.setdefault(target.get("revisionName", ""), []).append(label)
    table = Table(box=None, header_style="bold")
    for column in ("REVISION", "GENERATION", "TRAFFIC", "READY", "REASON", "CREATED"):
        table.add_column(column)
    newest_first = sorted(items, key=_generation, reverse=True)
    for revision in newest_first:
        name = revision["metadata"]["name"]
        ready = condition(revision)
        table.add_row(
            name,
            str(_generation(revision)),
            ", ".join(traffic.get(name, [])),
            _status(ready.get("status", "Unknown")),
            ready.get("reason", ""),
            revision["metadata"].get("creationTimestamp", ""),
        )
    return table


def _generation(revision: dict[str, Any]) -> int:
    labels = revision["metadata"].get("labels", {}) or {}
    return int(labels.get("serving.knative.dev/configurationGeneration", 0))


def describe(service: dict[str, Any], items: list[dict[str, Any]]) -> list[RenderableType]:
    metadata, status = service["metadata"], service.get("status", {})
    header = Table.grid(padding=(0, 2))
    header.add_column(style="bold")
    header.add_column()
    header.add_row("Name", metadata["name"])
    header.add_row("Namespace", metadata.get("namespace", ""))
    header.add_row("URL", status.get("url", ""))
    header.add_row("Latest created", status.get("latestCreatedRevisionName", ""))
    header.add_row("Latest ready", status.get("latestReadyRevisionName", ""))
    header.add_row(
        "Generation",
        f"{metadata.get('generation')} (observed {status.get('observedGeneration', '-')})",
    )
    conditions = Table(title="Conditions", title_justify="left", box=None, header_style="bold")
    for column in ("TYPE", "STATUS", "REASON", "MESSAGE"):
        conditions.add_column(column)
    for entry in status.get("conditions", []) or []:
        conditions.add_row(
            entry.get("type", ""),
            _status(entry.get("status", "Unknown")),
            entry.get("reason", ""),
            entry.get("message", ""),
        )
    traffic = Table(title="Traffic", title_justify="left", box=None, header_style="bold")
    for column in ("PERCENT", "REVISION", "TAG", "URL"):
        traffic.add_column(column)
    for target in status.get("traffic", []) or []:
        revision = target.get("revisionName", "")
        if target.get("latestRevision"):
            revision += " (latest)"
        traffic.add_row(
            f"{target.get('percent', 0)}%", revision, target.get("tag", ""), target.get("url", "")
        )
    return [
        header,
        "",
        conditions,
        "",
        traffic,
        "",
        Text("Revisions", style="italic"),
        revisions(service, items),
    ]
