"""The ``knative-serving`` ConfigMaps, followed for as long as the platform runs.

Knative's controllers read their settings from ConfigMaps through informers and apply
a change at once; this does the same for ``unkai up``. The maps are listed once (so the
first settings are in force before any Route or revision is reconciled), then watched;
after every change :func:`~unkai.api.knative.clusterconfig.read` turns them into a
:class:`~unkai.api.knative.clusterconfig.ClusterConfig` and ``apply`` hands it on. The
platform's wiring decides who gets what (the route controller its network settings,
the data plane its autoscaler settings), so neither side imports the other.

A map stored with a value admission refuses now (written before this version checked
it) counts as absent, with a warning naming the problem.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from unkai.api import kinds
from unkai.api.knative import clusterconfig
from unkai.api.knative.clusterconfig import ClusterConfig
from unkai.platform.apiserver.service import ResourceService

log = logging.getLogger("unkai.platform")


async def follow(
    api: ResourceService, apply: Callable[[ClusterConfig], None], loaded: asyncio.Event
) -> None:
    """List, apply, set ``loaded``; then apply again on every change until cancelled."""
    rt = api.registry.get(kinds.CONFIG_MAP.group_resource)
    listed = await api.list(rt, namespace=clusterconfig.NAMESPACE)
    maps = {obj["metadata"]["name"]: obj.get("data") or {} for obj in listed["items"]}
    _apply(maps, apply)
    loaded.set()
    version = listed["metadata"]["resourceVersion"]
    watch = await api.watch(rt, namespace=clusterconfig.NAMESPACE, resource_version=version)
    async with watch as events:
        async for event, obj in events:
            name = obj["metadata"]["name"]
            if name not in clusterconfig.NAMES:
                continue
            if event == "DELETED":
                maps.pop(name, None)
            else:
                maps[name] = obj.get("data") or {}
            _apply(maps, apply)


def _apply(maps: dict[str, dict[str, str]], apply: Callable[[ClusterConfig], None]) -> None:
    config, problems = clusterconfig.read(maps)
    for problem in problems:
        log.warning("%s: %s (map ignored)", problem.field, problem.message)
    apply(config)
