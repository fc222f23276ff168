"""A Trigger's filter compiled once into a pure predicate over an event's attributes.

The broker calls ``compile(trigger["spec"])`` when a Trigger appears or changes and
``Filter.matches(attributes)`` per event; nothing here does I/O or keeps state.

Semantics are Knative's (``pkg/eventfilter``, MT broker ``filter_handler.go``):

* ``spec.filters``, when non-empty, wins over ``spec.filter``; its elements are ANDed.
* Each element uses one dialect: ``exact``/``prefix``/``suffix`` compare an attribute's
  string form (a missing attribute fails), ``all``/``any`` combine nested filters,
  ``not`` inverts one, ``cesql`` passes when the expression is ``true`` without error.
* A filter has three outcomes, as in Knative: pass, fail, and *no filter* (an element
  that sets no dialect, an empty ``all``/``any``, ``cesql: ""``). An event is delivered
  unless the outcome is fail. ``not`` keeps *no filter* as it is; ``all`` fails if one
  part fails and otherwise gives its last part's outcome; ``any`` passes if one part
  passes and otherwise gives its last part's outcome; elements with no dialect are
  left out of lists, as Knative's materializer skips them.
* The legacy ``spec.filter.attributes`` requires every key; a non-empty value must be
  equal, an empty one means "present and not empty".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from unkai.events import cesql
from unkai.events.attributes import as_string

Attributes = Mapping[str, object]


class Outcome(Enum):
    PASS = "pass"
    FAIL = "fail"
    NONE = "no filter"


Test = Callable[[Attributes], Outcome]
_PASS, _FAIL, _NONE = Outcome.PASS, Outcome.FAIL, Outcome.NONE


@dataclass(frozen=True)
class Filter:
    """A compiled Trigger filter; ``matches`` is pure and safe to call from any thread."""

    test: Test

    def matches(self, attributes: Attributes) -> bool:
        return self.test(attributes) is not _FAIL


def compile(trigger_spec: Mapping[str, Any]) -> Filter:
    """The filter of a Trigger's ``spec`` (as stored, admitted by ``api.knative.trigger``).

    Raises :class:`~unkai.events.cesql.CesqlParseError` for a CESQL expression that does
    not parse, which admission refuses before a Trigger is stored.
    """
    filters = trigger_spec.get("filters")
    if isinstance(filters, list) and filters:
        return Filter(_all(filters))
    legacy = trigger_spec.get("filter")
    attributes = legacy.get("attributes") if isinstance(legacy, Mapping) else None
    if isinstance(attributes, Mapping) and attributes:
        return Filter(_attributes(dict(attributes)))
    return Filter(lambda attributes: _NONE)


def _attributes(wanted: dict[str, str]) -> Test:
    items = tuple(wanted.items())

    def test(attributes: Attributes) -> Outcome:
        for name, expected in items:
            value = attributes.get(name)
            if value is None:
                return _FAIL
            text = as_string(value)
            if (text == "") if expected == "" else (text != expected):
                return _FAIL
        return _PASS

    return test


def _element(element: object) -> Test | None:
    """One Subscriptions API filter; None when it sets no dialect (Knative's nil)."""
    if not isinstance(element, Mapping):
        return None
    for dialect, compare in _COMPARISONS.items():
        pairs = element.get(dialect)
        if isinstance(pairs, Mapping) and pairs:
            if any(not name or not value for name, value in pairs.items()):
                return None  # Knative: "attribute and value can't be empty", skipped
            return _comparison(compare, tuple(pairs.items()))
    for dialect, combine in (("all", _all), ("any", _any)):
        parts = element.get(dialect)
        if isinstance(parts, list) and parts:
            return combine(parts)
    if "not" in element and element["not"] is not None:
        return _not(_element(element["not"]))
    text = element.get("cesql")
    if isinstance(text, str) and text:
        return _cesql(cesql.parse(text))
    return None


def _comparison(compare: Callable[[str, str], bool], pairs: tuple[tuple[str, str], ...]) -> Test:
    def test(attributes: Attributes) -> Outcome:
        for name, expected in pairs:
            value = attributes.get(name)
            if value is None:
                return _FAIL
            if not compare(value if type(value) is str else as_string(value), expected):
                return _FAIL
        return _PASS

    return test


_COMPARISONS: dict[str, Callable[[str, str], bool]] = {
    "exact": str.__eq__,
    "prefix": str.startswith,
    "suffix": str.endswith,
}


def _parts(elements: Sequence[object]) -> tuple[Test, ...]:
    return tuple(test for test in map(_element, elements) if test is not None)


def _combined(elements: Sequence[object], decisive: Outcome) -> Test:
    """The parts in order, stopping at the first ``decisive`` outcome (``all`` stops at a
    fail, ``any`` at a pass); otherwise the last part's outcome."""
    parts = _parts(elements)
    if len(parts) == 1:
        return parts[0]

    def test(attributes: Attributes) -> Outcome:
        outcome = _NONE
        for part in parts:
            outcome = part(attributes)
            if outcome is decisive:
                return decisive
        return outcome

    return test


def _all(elements: Sequence[object]) -> Test:
    return _combined(elements, _FAIL)


def _any(elements: Sequence[object]) -> Test:
    return _combined(elements, _PASS)


def _not(inner: Test | None) -> Test:
    if inner is None:
        return lambda attributes: _NONE
    flipped = {_PASS: _FAIL, _FAIL: _PASS, _NONE: _NONE}
    return lambda attributes: flipped[inner(attributes)]


def _cesql(expression: cesql.Expression) -> Test:
    matches = expression.matches
    return lambda attributes: _PASS if matches(attributes) else _FAIL
