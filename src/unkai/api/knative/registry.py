"""The Knative kinds Unkai serves, keyed by (group, version, plural).

The API server looks a request's resource up here and gets everything it needs to
serve it beyond the names of :mod:`unkai.api.kinds`: the names only discovery uses
(short names, categories), the defaulting and validation functions, the OpenAPI schema
and kubectl's printer columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from unkai.api import kinds
from unkai.api.kinds import Kind
from unkai.api.knative import (
    broker,
    configuration,
    domainmapping,
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


class _KindModule(Protocol):
    """A module such as :mod:`unkai.api.knative.service` with its two entry points."""

    def default(self, obj: dict[str, Any], /) -> dict[str, Any]: ...

    def validate(self, obj: dict[str, Any], old: dict[str, Any] | None, /) -> list[Problem]: ...


@dataclass(frozen=True)
class Definition:
    """How one Knative kind is defaulted, validated and described (its CRD and webhook)."""

    identity: Kind
    short_names: tuple[str, ...]
    categories: tuple[str, ...]
    default: Defaulter
    validate: Validator
    schema: Mapping[str, Any] = field(default_factory=dict)
    printer_columns: tuple[Mapping[str, str], ...] = ()

    @property
    def key(self) -> tuple[str, str, str]:
        return self.identity.group, self.identity.version, self.identity.plural


def _definition(
    kind: Kind,
    *,
    short_names: tuple[str, ...],
    categories: tuple[str, ...],
    module: _KindModule,
) -> Definition:
    key = (kind.group, kind.version, kind.plural)
    return Definition(
        identity=kind,
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
    _definition(
        kinds.SERVICE,
        short_names=("kservice", "ksvc"),
        categories=_SERVING_CATEGORIES,
        module=service,
    ),
    _definition(
        kinds.CONFIGURATION,
        short_names=("config", "cfg"),
        categories=_SERVING_CATEGORIES,
        module=configuration,
    ),
    _definition(
        kinds.REVISION, short_names=("rev",), categories=_SERVING_CATEGORIES, module=revision
    ),
    _definition(kinds.ROUTE, short_names=("rt",), categories=_SERVING_CATEGORIES, module=route),
    Definition(
        identity=kinds.DOMAIN_MAPPING,
        short_names=("dm",),
        categories=_SERVING_CATEGORIES,
        default=domainmapping.default,
        validate=domainmapping.validate,
        schema=domainmapping.SCHEMA,
        printer_columns=domainmapping.PRINTER_COLUMNS,
    ),
    _definition(kinds.BROKER, short_names=(), categories=_EVENTING_CATEGORIES, module=broker),
    _definition(kinds.TRIGGER, short_names=(), categories=_EVENTING_CATEGORIES, module=trigger),
    _definition(
        kinds.PING_SOURCE, short_names=(), categories=_SOURCES_CATEGORIES, module=pingsource
    ),
)

KINDS: Mapping[tuple[str, str, str], Definition] = MappingProxyType(
    {definition.key: definition for definition in _ALL}
)
