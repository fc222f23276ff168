"""The one place the dispatcher asks whether a Trigger wants an event.

:func:`compile_trigger_filter` turns a plan's filters into a :class:`Filter` once, when
the Trigger is programmed; the dispatcher then calls ``matches(attributes)`` per event.
The dialects (``spec.filters``: exact, prefix, suffix, all, any, not, cesql) belong to
``unkai.events.filters``; until that lands, only the legacy ``spec.filter.attributes``
is served here, and a Trigger with ``spec.filters`` matches nothing rather than
everything (an unserved filter must not widen delivery).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from unkai.platform.contracts import TriggerPlan


class Filter(Protocol):
    def matches(self, attributes: Mapping[str, Any]) -> bool: ...


@dataclass(frozen=True)
class AttributesFilter:
    """Knative's legacy filter: every key present; a non-empty value equal, and an
    empty value matching any non-empty one (``pkg/eventfilter/attributes``)."""

    attributes: tuple[tuple[str, str], ...]

    def matches(self, attributes: Mapping[str, Any]) -> bool:
        for name, wanted in self.attributes:
            value = attributes.get(name)
            if value is None or value == "":
                return False
            if wanted and str(value) != wanted:
                return False
        return True


@dataclass(frozen=True)
class NothingFilter:
    """Stands for filters this build cannot evaluate yet."""

    def matches(self, attributes: Mapping[str, Any]) -> bool:
        return False


def compile_trigger_filter(plan: TriggerPlan) -> Filter:
    """The filter of a Trigger: ``filters`` when set (they override ``filter``)."""
    if plan.filters:
        return NothingFilter()
    return AttributesFilter(plan.filter_attributes)
