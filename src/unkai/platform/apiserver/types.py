"""What the API server knows about a kind: names, scope, printer columns, admission hooks.

A :class:`ResourceType` describes one served resource the way a CRD does (its
:class:`~unkai.api.kinds.Kind`, short names, categories, subresources, printer columns) and
carries the two per-kind admission hooks the service layer calls on every write of the
main resource:

* ``default(obj) -> obj`` fills in defaults (Knative's ``SetDefaults``);
* ``validate(obj, old) -> [Problem]`` returns field problems (``old`` is None on
  create), which become a 422 ``Invalid`` naming each field.

A :class:`Registry` is the immutable set of types one server serves; build it with
:func:`unkai.platform.apiserver.kinds.standard_registry` and plug hooks in with
:meth:`Registry.with_admission`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from unkai.api.kinds import Kind
from unkai.api.yamlsource import Problem

Object = dict[str, Any]
Defaulter = Callable[[Object], Object]
Validator = Callable[[Object, Object | None], list[Problem]]


def keep(obj: Object) -> Object:
    """The default defaulter: leaves the object as it is."""
    return obj


def accept(obj: Object, old: Object | None) -> list[Problem]:
    """The default validator: accepts everything (the schema is permissive)."""
    return []


@dataclass(frozen=True)
class Column:
    """One printer column (``kubectl get``): a header, its type and how to read a cell."""

    name: str
    read: Callable[[Object], Any]
    type: str = "string"
    priority: int = 0
    description: str = ""
    format: str = ""


@dataclass(frozen=True)
class ResourceType:
    """One served resource: a kind (:mod:`unkai.api.kinds`) and how this server serves it."""

    identity: Kind
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    has_status: bool = True
    strategic_merge: bool = False
    read_only: bool = False
    """Clients may only read it; the platform writes it in-process (Pods)."""
    """Built-in kinds take strategic-merge patches (as merge patches); custom kinds,
    like Kubernetes CRDs, answer them with 415."""
    columns: tuple[Column, ...] = ()
    selectable_fields: tuple[str, ...] = ()
    """Field-selector paths beyond ``metadata.name`` and ``metadata.namespace``."""
    schema: Object | None = field(default=None, compare=False)
    """The OpenAPI v3 schema published for the kind; None publishes a permissive one."""
    default: Defaulter = field(default=keep, compare=False)
    validate: Validator = field(default=accept, compare=False)
    webhook: str = ""
    """The admission webhook ``validate`` stands for (Knative's), whose refusal layout
    it answers with: 400, ``admission webhook "…" denied the request: validation
    failed: message: field``; empty: the API server's own 422 ``Invalid``."""

    # The kind's names, read through, so request handling says ``rt.plural``.

    @property
    def group(self) -> str:
        return self.identity.group

    @property
    def version(self) -> str:
        return self.identity.version

    @property
    def kind(self) -> str:
        return self.identity.kind

    @property
    def plural(self) -> str:
        """The resource's URL name (``services``)."""
        return self.identity.plural

    @property
    def singular(self) -> str:
        return self.identity.singular

    @property
    def namespaced(self) -> bool:
        return self.identity.namespaced

    @property
    def api_version(self) -> str:
        return self.identity.api_version

    @property
    def group_resource(self) -> str:
        """``services.serving.knative.dev`` (``namespaces`` for the core group)."""
        return self.identity.group_resource

    @property
    def list_kind(self) -> str:
        return self.identity.list_kind


class Registry:
    """The resource types one server serves, looked up by URL or by kind."""

    def __init__(self, types: Iterable[ResourceType]) -> None:
        self._types = {rt.group_resource: rt for rt in types}

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(self._types.values())

    def get(self, group_resource: str) -> ResourceType:
        """By group-resource (``services.serving.knative.dev``); KeyError if not served."""
        return self._types[group_resource]

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        """By URL parts, as the HTTP layer sees them."""
        rt = self._types.get(f"{plural}.{group}" if group else plural)
        return rt if rt is not None and rt.version == version else None

    def for_kind(self, api_version: str, kind: str) -> ResourceType | None:
        """By ``apiVersion`` and ``kind``, as found in an object or an ownerReference."""
        for rt in self._types.values():
            if rt.api_version == api_version and rt.kind == kind:
                return rt
        return None

    def group_versions(self) -> dict[str, list[ResourceType]]:
        """Types by group version (``""`` is the core group), in registration order."""
        grouped: dict[str, list[ResourceType]] = {}
        for rt in self._types.values():
            grouped.setdefault(rt.api_version, []).append(rt)
        return grouped

    def with_admission(
        self,
        group_resource: str,
        *,
        default: Defaulter | None = None,
        validate: Validator | None = None,
        schema: Object | None = None,
        webhook: str | None = None,
    ) -> Registry:
        """A copy of this registry with the hooks (and schema) of one type replaced."""
        rt = self.get(group_resource)
        changed = dataclasses.replace(
            rt,
            default=default or rt.default,
            validate=validate or rt.validate,
            schema=schema or rt.schema,
            webhook=rt.webhook if webhook is None else webhook,
        )
        return Registry(changed if t is rt else t for t in self)
