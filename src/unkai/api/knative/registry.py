"""The Knative kinds Unkai serves, keyed by (group, version, plural).

The API server looks a request's resource up here and gets everything it needs to
serve it: names for discovery (kind, singular, short names, categories), scope, the
defaulting and validation functions, the OpenAPI schema and kubectl's printer columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from unkai.api.knative import (
    broker,
    configuration,
    pingsource,
    revision,
    route,
    service,
    trigger,
)
from unkai.api.knative.schemas import PRINTER_COLUMNS, SCHEMAS
from unkai.api.yamlsource import Problem

Defaulter = Callable[[dict[str, Any]], dict[str, Any]]
Validator = Callable[[dict[str, Any], dict[str, Any] | None], list[Problem]]

SERVING = "serving.knative.dev"
EVENTING = "eventing.knative.dev"
SOURCES = "sources.knative.dev"
VERSION = "v1"


class _KindModule(Protocol):
    """A module such as :mod:`unkai.api.knative.service` with its two entry points."""

    def default(self, obj: dict[str, Any], /) -> dict[str, Any]: ...

    def validate(self, obj: dict[str, Any], old: dict[str, Any] | None, /) -> list[Problem]: ...


@dataclass(frozen=True)
class Kind:
    """How one Knative kind is named, defaulted, validated and described."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    categories: tuple[str, ...]
    default: Defaulter
    validate: Validator
    namespaced: bool = True
    schema: Mapping[str, Any] = field(default_factory=dict)
    printer_columns: tuple[Mapping[str, str], ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def key(self) -> tuple[str, str, str]:
        return self.group, self.version, self.plural


def _kind(
    group: str,
    kind: str,
    *,
    short_names: tuple[str, ...],
    categories: tuple[str, ...],
    module: _KindModule,
) -> Kind:
    plural = kind.lower() + ("es" if kind.lower().endswith("s") else "s")
    key = (group, VERSION, plural)
    return Kind(
        group=group,
        version=VERSION,
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        short_names=short_names,
        categories=categories,
        default=module.default,
        validate=module.validate,
        schema=SCHEMAS[key],
        printer_columns=PRINTER_COLUMNS[key],
    )


_SERVING_CATEGORIES = ("all", "knative", "serving")
_EVENTING_CATEGORIES = ("all", "knative", "eventing")
_SOURCES_CATEGORIES = ("all", "knative", "sources")

_ALL = (
    _kind(
        SERVING,
        "Service",
        short_names=("kservice", "ksvc"),
        categories=_SERVING_CATEGORIES,
        module=service,
    ),
    _kind(
        SERVING,
        "Configuration",
        short_names=("config", "cfg"),
        categories=_SERVING_CATEGORIES,
        module=configuration,
    ),
    _kind(
        SERVING, "Revision", short_names=("rev",), categories=_SERVING_CATEGORIES, module=revision
    ),
    _kind(SERVING, "Route", short_names=("rt",), categories=_SERVING_CATEGORIES, module=route),
    _kind(EVENTING, "Broker", short_names=(), categories=_EVENTING_CATEGORIES, module=broker),
    _kind(EVENTING, "Trigger", short_names=(), categories=_EVENTING_CATEGORIES, module=trigger),
    _kind(SOURCES, "PingSource", short_names=(), categories=_SOURCES_CATEGORIES, module=pingsource),
)

KINDS: Mapping[tuple[str, str, str], Kind] = MappingProxyType({kind.key: kind for kind in _ALL})
