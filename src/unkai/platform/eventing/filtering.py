"""The one place the dispatcher asks whether a Trigger wants an event.

:func:`compile_trigger_filter` turns a plan's filters into a
:class:`~unkai.events.filters.Filter` once, when the Trigger is programmed; the
dispatcher then calls ``matches(attributes)`` per event. The dialects (legacy
``spec.filter.attributes``; ``spec.filters`` with exact, prefix, suffix, all, any, not
and cesql) are :mod:`unkai.events.filters`'; admission has refused what does not
compile, so a failure here (a Trigger stored by an older platform) matches nothing
rather than everything: an unserved filter must not widen delivery.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from unkai.events import filters
from unkai.events.cesql import CesqlParseError
from unkai.platform.contracts import TriggerPlan

log = logging.getLogger("unkai.eventing")


class _Nothing:
    def matches(self, attributes: Mapping[str, Any]) -> bool:
        return False


def compile_trigger_filter(plan: TriggerPlan) -> filters.Filter | _Nothing:
    """The filter of a Trigger: ``filters`` when set (they override ``filter``)."""
    spec: dict[str, Any] = {}
    if plan.filter_attributes:
        spec["filter"] = {"attributes": dict(plan.filter_attributes)}
    if plan.filters:
        spec["filters"] = json.loads(plan.filters)
    try:
        return filters.compile(spec)
    except CesqlParseError as error:
        log.warning("trigger filter does not compile, so nothing matches: %s", error)
        return _Nothing()
