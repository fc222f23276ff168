"""Server-side printing: the ``Table`` that ``kubectl get`` asks for.

kubectl sends ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` and prints
whatever columns the server returns, so the columns of each kind live on its
:class:`~unkai.platform.apiserver.types.ResourceType` (mirroring the Knative CRDs'
``additionalPrinterColumns``). ``date`` columns are printed as ages, as Kubernetes
does, which is why rendering takes ``now``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from unkai.platform.apiserver.types import Column, Object, ResourceType

_NAME = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace.",
    "priority": 0,
}
_AGE = Column("Age", lambda obj: obj["metadata"].get("creationTimestamp"), type="date")


def wants_table(accept: str) -> bool:
    """True when the client's first acceptable representation is a meta.k8s.io Table."""
    for option in accept.split(","):
        params = dict(part.strip().split("=", 1) for part in option.split(";")[1:] if "=" in part)
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
            return True
        if option.strip().startswith(("application/json", "*/*", "application/yaml")):
            return False
    return False


def columns_of(rt: ResourceType) -> tuple[Column, ...]:
    return rt.columns or (_AGE,)


def table(
    rt: ResourceType,
    objects: list[Object],
    *,
    resource_version: str,
    now: datetime,
    include: str = "Metadata",
    headers: bool = True,
) -> Object:
    """A ``meta.k8s.io/v1`` Table of ``objects``; ``include`` is the ``includeObject``
    query parameter (None, Metadata or Object)."""
    columns = columns_of(rt)
    definitions = [_NAME] + [
        {
            "name": column.name,
            "type": column.type,
            "format": column.format,
            "description": column.description,
            "priority": column.priority,
        }
        for column in columns
    ]
    rows = []
    for obj in objects:
        cells = [obj["metadata"].get("name")] + [_cell(column, obj, now) for column in columns]
        row: dict[str, Any] = {"cells": cells}
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions if headers else None,
        "rows": rows,
    }


def _cell(column: Column, obj: Object, now: datetime) -> Any:
    value = column.read(obj)
    if column.type == "date" and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return human_duration(int((now - moment).total_seconds()))
    return value


def human_duration(seconds: int) -> str:
    """Kubernetes' ``duration.HumanDuration``: ``45s``, ``3m20s``, ``5h``, ``12d``."""
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    if hours < 24 * 365 * 8:
        return f"{days // 365}y{days % 365}d" if days % 365 else f"{days // 365}y"
    return f"{days // 365}y"
