"""Kubeconfig files: merging the ``unkai`` context into the user's own.

``unkai up`` writes a complete kubeconfig for itself into its data dir; ``unkai
kubeconfig --merge`` folds it into ``~/.kube/config`` (or ``$KUBECONFIG``), replacing
the entries named ``unkai`` and keeping everything else the user has.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from unkai.api import locations

CONTEXT = "unkai"


def merge(existing: dict[str, Any], ours: dict[str, Any], *, use: bool) -> dict[str, Any]:
    """``existing`` with our cluster, user and context replaced or added."""
    merged = dict(existing) or {"apiVersion": "v1", "kind": "Config", "preferences": {}}
    for section in ("clusters", "users", "contexts"):
        names = {entry["name"] for entry in ours[section]}
        kept = [entry for entry in existing.get(section) or [] if entry.get("name") not in names]
        merged[section] = kept + ours[section]
    if use or not merged.get("current-context"):
        merged["current-context"] = CONTEXT
    return merged


def for_tenant(ours: dict[str, Any], *, token: str, namespace: str) -> dict[str, Any]:
    """A kubeconfig for a tenant of ``namespace``: the server and CA of ``ours`` (the
    platform's own kubeconfig), the tenant's token, and ``namespace`` as the default so
    that ``kubectl get ksvc`` needs no ``-n``. Its entries are named ``unkai-{namespace}``,
    so merging it beside the admin's ``unkai`` context replaces neither."""
    name = f"{CONTEXT}-{namespace}"
    cluster = ours["clusters"][0]["cluster"]
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": dict(cluster)}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [
            {"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}
        ],
        "current-context": name,
    }


def default_path() -> Path:
    """The first file of ``KUBECONFIG``, else ``~/.kube/config`` (as kubectl picks it)."""
    configured = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(configured) if configured else Path.home() / ".kube" / "config"


def load(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def save(path: Path, document: dict[str, Any]) -> None:
    """Write owner-only: the file carries a bearer token."""
    locations.write_private(path, yaml.safe_dump(document, sort_keys=False))
