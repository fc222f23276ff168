"""Small manifests for API tests, and a way to run a kind's admission on them."""

from __future__ import annotations

import copy
from typing import Any

from unkai.api.knative import KINDS

GROUPS = {
    "Service": ("serving.knative.dev", "services"),
    "Configuration": ("serving.knative.dev", "configurations"),
    "Revision": ("serving.knative.dev", "revisions"),
    "Route": ("serving.knative.dev", "routes"),
    "Broker": ("eventing.knative.dev", "brokers"),
    "Trigger": ("eventing.knative.dev", "triggers"),
    "PingSource": ("sources.knative.dev", "pingsources"),
}


def service(name: str = "hello", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "template": {"spec": {"containers": [{"image": "ghcr.io/knative/helloworld-go"}]}}
    }
    body.update(spec)
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": body,
    }


def admit(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """Default then validate ``obj`` as the API server will; ``(field, message)`` pairs."""
    group, plural = GROUPS[obj["kind"]]
    kind = KINDS[(group, "v1", plural)]
    defaulted = kind.default(copy.deepcopy(obj))
    previous = kind.default(copy.deepcopy(old)) if old is not None else None
    return [(problem.field, problem.message) for problem in kind.validate(defaulted, previous)]


def at(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``obj`` with ``value`` at a dotted path (``[n]`` indexes lists)."""
    result = copy.deepcopy(obj)
    parts = path.replace("[", ".[").split(".")
    target: Any = result
    for part, following in zip(parts, [*parts[1:], None], strict=True):
        key: Any = int(part[1:-1]) if part.startswith("[") else part
        if following is None:
            target[key] = value
        else:
            if isinstance(key, str) and key not in target:
                target[key] = [] if following.startswith("[") else {}
            target = target[key]
    return result
