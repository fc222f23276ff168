"""Who made and last changed a Service, Configuration or Route, as Knative records it.

Knative's webhook stamps ``serving.knative.dev/creator`` (on create) and
``serving.knative.dev/lastModifier`` (on create, and on an update that changes the
spec) with the requesting user's name, on top-level objects only (not on a Service's
own Configuration and Route, which get the Service's annotations); a user may not set
either to something else (``annotation value is immutable``). Knative reads the user
from the admission request; the API server here sets :data:`REQUEST_USER` for the
request it is serving, so the admission code below the HTTP layer can read it.

One difference, on purpose: an update that leaves an annotation out keeps the stored
value instead of being refused, because a server-side apply of the user's own manifest
(which ``unkai deploy`` does) never carries what admission added.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from unkai.api import kinds
from unkai.api.yamlsource import Problem

CREATOR = "serving.knative.dev/creator"
LAST_MODIFIER = "serving.knative.dev/lastModifier"
STAMPED = frozenset(
    {kinds.SERVICE.group_resource, kinds.CONFIGURATION.group_resource, kinds.ROUTE.group_resource}
)
REQUEST_USER: ContextVar[str | None] = ContextVar("unkai_request_user", default=None)
"""The user the API server is serving a request for; ``None`` for the platform's own
writes (its controllers), which stamp nothing."""

IMMUTABLE = "annotation value is immutable"


def stamp(group_resource: str, obj: dict[str, Any], old: dict[str, Any] | None) -> list[Problem]:
    """Stamp ``obj`` (defaulted, about to be stored over ``old``) in place; problems for
    a user who tries to set either annotation to another value."""
    metadata = obj["metadata"]
    if group_resource not in STAMPED or metadata.get("ownerReferences"):
        return []
    user = REQUEST_USER.get()
    annotations: dict[str, str] = metadata.get("annotations") or {}
    if old is None:
        if user is not None:
            annotations[CREATOR] = annotations[LAST_MODIFIER] = user
            metadata["annotations"] = annotations
        return []
    before = old["metadata"].get("annotations") or {}
    spec_changed = old.get("spec") != obj.get("spec")
    problems = []
    for key, may_change in ((CREATOR, False), (LAST_MODIFIER, spec_changed)):
        if key not in annotations and key in before:
            annotations[key] = before[key]
        elif not may_change and annotations.get(key) != before.get(key):
            problems.append(Problem(("metadata", "annotations", key), IMMUTABLE))
    if spec_changed and user is not None:
        annotations[LAST_MODIFIER] = user
    if annotations:
        metadata["annotations"] = annotations
    return problems
