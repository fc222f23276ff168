"""Brokers, Triggers and PingSources from the CLI's words (pure builders, no I/O).

``unkai broker|trigger|source ping create`` name a sink the way ``kn`` does
(:mod:`unkai.api.destinations`). What cannot become a valid object is refused here with
the flag that said it, before anything reaches the API (which checks again: a
cluster's webhook, or ``unkai up``'s admission).
"""

from __future__ import annotations

import re
from typing import Any

from unkai.api import destinations, kinds
from unkai.errors import UserError
from unkai.events import cesql

ATTRIBUTE = re.compile(r"[a-z0-9]+")


class FlagError(UserError, ValueError):
    """A flag's value cannot make the object; ``flag`` names it, the message says why."""

    def __init__(self, flag: str, message: str) -> None:
        self.flag = flag
        super().__init__(f"{flag}: {message}")


def destination(text: str, *, flag: str = "--sink") -> dict[str, Any]:
    """A Knative ``Destination`` for ``text`` (:mod:`unkai.api.destinations`)."""
    try:
        return destinations.parse(text)
    except ValueError as error:
        raise FlagError(flag, str(error)) from None


def _metadata(name: str, namespace: str | None) -> dict[str, Any]:
    if not destinations.NAME.fullmatch(name):
        raise FlagError("NAME", f"{name!r} is not a valid name (lower-case letters, digits, '-')")
    return {"name": name, **({"namespace": namespace} if namespace else {})}


def broker(name: str, *, namespace: str | None, dead_letter_sink: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if dead_letter_sink is not None:
        spec["delivery"] = {
            "deadLetterSink": destination(dead_letter_sink, flag="--dead-letter-sink")
        }
    return {"apiVersion": kinds.BROKER.api_version, "kind": kinds.BROKER.kind,
            "metadata": _metadata(name, namespace), "spec": spec}  # fmt: skip


def trigger(
    name: str,
    *,
    namespace: str | None,
    broker: str,
    sink: str,
    filters: tuple[str, ...] = (),
    cesql_text: str | None = None,
) -> dict[str, Any]:
    """A Trigger; ``--filter attr=value`` (an empty value: present) alone is Knative's
    ``spec.filter.attributes``, as ``kn trigger create`` writes it; with ``--cesql`` every
    condition goes to ``spec.filters`` (which would otherwise replace ``spec.filter``)."""
    attributes = dict(_attribute(text) for text in filters)
    spec: dict[str, Any] = {"broker": broker, "subscriber": destination(sink)}
    if cesql_text is None:
        if attributes:
            spec["filter"] = {"attributes": attributes}
    else:
        check_cesql(cesql_text)
        spec["filters"] = [
            {"exact": {key: value}} if value else {"cesql": f"EXISTS {key}"}
            for key, value in attributes.items()
        ] + [{"cesql": cesql_text}]
    return {"apiVersion": kinds.TRIGGER.api_version, "kind": kinds.TRIGGER.kind,
            "metadata": _metadata(name, namespace), "spec": spec}  # fmt: skip


def _attribute(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals:
        raise FlagError("--filter", f"{text!r} is not of the form attribute=value")
    if not ATTRIBUTE.fullmatch(key):
        raise FlagError(
            "--filter", f"{key!r} is not a CloudEvents attribute name (a-z and 0-9 only)"
        )
    return key, value


def check_cesql(text: str) -> None:
    """Refuse an expression that cannot filter, showing where it goes wrong."""
    try:
        expression = cesql.parse(text)
    except cesql.CesqlParseError as error:
        pointer = " " * error.offset + "^"
        raise FlagError("--cesql", f"{error}\n  {text}\n  {pointer}") from None
    problems = expression.problems()
    if problems:
        raise FlagError("--cesql", f"{text}: " + "; ".join(problems))


def ping_source(
    name: str,
    *,
    namespace: str | None,
    schedule: str,
    sink: str,
    data: str | None,
    content_type: str | None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"schedule": schedule, "sink": destination(sink)}
    if data is not None:
        spec["data"] = data
    if content_type is not None:
        spec["contentType"] = content_type
    return {"apiVersion": kinds.PING_SOURCE.api_version, "kind": kinds.PING_SOURCE.kind,
            "metadata": _metadata(name, namespace), "spec": spec}  # fmt: skip


def address(obj: dict[str, Any]) -> str | None:
    """An Addressable's URL (``status.address.url``, Knative's resolver's choice)."""
    status = obj.get("status") or {}
    url = (status.get("address") or {}).get("url") or status.get("url")
    return str(url) if url else None
