"""Create, list and delete objects of one kind, printed as kubectl prints them.

What the ``broker``, ``trigger`` and ``source ping`` commands have in common; each
names its kind, builds its manifest (:mod:`unkai.kube.eventing`) and its columns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from unkai.cli import console, eventing_views, target
from unkai.kube import client, counts, kinds


def _name(kind: kinds.Kind, name: str) -> str:
    return f"{kind.singular}.{kind.group}/{name}"


def create(manifest: dict[str, Any], *, context: str | None, namespace: str | None) -> None:
    kind = kinds.find(manifest["apiVersion"], manifest["kind"])
    assert kind is not None, manifest["kind"]
    api = target.connect(context, namespace)
    name = manifest["metadata"]["name"]
    with target.api_errors(subject=_name(kind, name)):
        api.create(kinds.resource(kind).from_dict(manifest))
    console.out.print(f"{_name(kind, name)} created")


def listing(
    kind: kinds.Kind,
    columns: dict[str, Callable[[dict[str, Any]], str]],
    *,
    context: str | None,
    namespace: str | None,
    output: str,
) -> None:
    api = target.connect(context, namespace)
    with target.api_errors():
        found = [client.to_dict(obj) for obj in api.list(kinds.resource(kind))]
    if output != "table":
        target.emit(found, output)
    elif not found:
        console.err.print(f"No {kind.plural} found.")
    else:
        console.out.print(eventing_views.listing(found, columns, now=datetime.now(UTC)))


def delete(kind: kinds.Kind, name: str, *, context: str | None, namespace: str | None) -> None:
    api = target.connect(context, namespace)
    with target.api_errors(subject=_name(kind, name)):
        api.delete(kinds.resource(kind), name)
    console.out.print(f"{_name(kind, name)} deleted")


DESCRIBED = {"broker": kinds.BROKER, "trigger": kinds.TRIGGER}
"""The kinds ``unkai describe KIND/NAME`` shows besides Services."""


def describe(reference: str, *, context: str | None, namespace: str | None, output: str) -> None:
    """Show ``broker/NAME`` or ``trigger/NAME`` with its event counts."""
    kind_text, _, name = reference.partition("/")
    kind = DESCRIBED.get(kind_text.lower().split(".")[0].removesuffix("s"))
    if kind is None or not name:
        raise console.Failure(
            f"{reference}: describe takes a service's NAME, broker/NAME or trigger/NAME"
        )
    api = target.connect(context, namespace)
    with target.api_errors(subject=reference):
        found = client.to_dict(api.get(kinds.resource(kind), name))
        triggers = [name]
        if kind is kinds.BROKER:
            listed = (client.to_dict(obj) for obj in api.list(kinds.resource(kinds.TRIGGER)))
            triggers = [each["metadata"]["name"] for each in listed
                        if each["spec"].get("broker") == name]  # fmt: skip
    if output != "table":
        target.emit(found, output)
        return
    figures = counts.read(api.config, found["metadata"]["namespace"])
    total = None
    if figures is not None:
        total = figures.broker(name, triggers) if kind is kinds.BROKER else figures.trigger(name)
    for renderable in eventing_views.describe(found, total):
        console.out.print(renderable)
