"""Label and field selectors, parsed once per request and matched per object.

Label selectors take the Kubernetes grammar: ``a=b``, ``a==b``, ``a!=b``,
``a in (x,y)``, ``a notin (x,y)``, ``a`` (exists) and ``!a`` (does not exist), joined
by commas (all must hold). Field selectors take ``path=value``, ``path==value`` and
``path!=value`` over ``metadata.name``, ``metadata.namespace`` and the kind's
``selectable_fields``; like Kubernetes, any other field is a 400.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from unkai.platform.apiserver.errors import bad_request

Object = dict[str, Any]
_SET = re.compile(r"^(?P<key>[^\s!=(),]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")
_EQUALITY = re.compile(r"^(?P<key>[^\s!=(),]+)\s*(?P<op>==|!=|=)\s*(?P<value>[^\s!=(),]*)$")
_EXISTS = re.compile(r"^(?P<neg>!?)\s*(?P<key>[^\s!=(),]+)$")


@dataclass(frozen=True)
class Requirement:
    """One clause: ``op`` is one of ``in``, ``notin``, ``exists``, ``!exists``."""

    key: str
    op: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op == "in":
            return present and labels[self.key] in self.values
        return not present or labels[self.key] not in self.values


@dataclass(frozen=True)
class Selector:
    """A conjunction of requirements over a string map (labels, or selectable fields)."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, values: Mapping[str, str]) -> bool:
        return all(requirement.matches(values) for requirement in self.requirements)

    def __bool__(self) -> bool:
        return bool(self.requirements)


def _clauses(text: str) -> Iterable[str]:
    depth, start = 0, 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            yield text[start:index].strip()
            start = index + 1
    yield text[start:].strip()


def parse_labels(text: str | None) -> Selector:
    """Parse a ``labelSelector``; an unparsable one is a 400."""
    if not text or not text.strip():
        return Selector()
    requirements = []
    for clause in _clauses(text):
        if match := _SET.match(clause):
            values = frozenset(v.strip() for v in match["values"].split(",") if v.strip())
            requirements.append(Requirement(match["key"], match["op"], values))
        elif match := _EQUALITY.match(clause):
            op = "notin" if match["op"] == "!=" else "in"
            requirements.append(Requirement(match["key"], op, frozenset({match["value"]})))
        elif match := _EXISTS.match(clause):
            requirements.append(Requirement(match["key"], "!exists" if match["neg"] else "exists"))
        else:
            raise bad_request(f"unable to parse requirement: {clause!r} in labelSelector {text!r}")
    return Selector(tuple(requirements))


def parse_fields(text: str | None, *, allowed: Iterable[str]) -> Selector:
    """Parse a ``fieldSelector`` over the ``allowed`` paths; others are a 400."""
    if not text or not text.strip():
        return Selector()
    known = {"metadata.name", "metadata.namespace", *allowed}
    requirements = []
    for clause in _clauses(text):
        match = _EQUALITY.match(clause)
        if match is None:
            raise bad_request(f"invalid field selector: {clause!r} in fieldSelector {text!r}")
        if match["key"] not in known:
            raise bad_request(f"field label not supported: {match['key']}")
        op = "notin" if match["op"] == "!=" else "in"
        requirements.append(Requirement(match["key"], op, frozenset({match["value"]})))
    return Selector(tuple(requirements))


def field_values(obj: Object, paths: Iterable[str]) -> dict[str, str]:
    """The object's values at the given dotted paths, as strings ("" where missing)."""
    values = {}
    for path in paths:
        value: Any = obj
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        values[path] = "" if value is None else str(value)
    return values


def object_filter(labels: Selector, fields: Selector) -> Callable[[Object], bool]:
    """One predicate for both selectors, for lists and watch streams."""
    paths = [requirement.key for requirement in fields.requirements]

    def matches(obj: Object) -> bool:
        metadata = obj.get("metadata") or {}
        if labels and not labels.matches(metadata.get("labels") or {}):
            return False
        return not fields or fields.matches(field_values(obj, paths))

    return matches
