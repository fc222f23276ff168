"""Reading plain-dict objects without trusting their shape.

Objects arrive as JSON, exactly as a client sent them, so a validator must not crash
on ``percent: "fifty"`` or ``containers: {}``. A :class:`Node` pairs a value with its
field path and a shared list of problems: reading a field of the wrong type records
one problem (worded like the Kubernetes schema check) and yields an empty value, so
the caller carries on and every other problem is still found. A field an object does
not define is a problem too (:meth:`Node.allow_only`): Knative decodes strictly, so a
typo must be refused, not stored and silently ignored.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from unkai.api.knative import problems
from unkai.api.yamlsource import Path, PathPart, Problem


class Node:
    """A value at a path in an object; reading children checks their JSON type."""

    def __init__(self, value: object, path: Path, problems: list[Problem]) -> None:
        self.value = value
        self.path = path
        self.problems = problems

    def at(self, key: PathPart) -> Node:
        """The child at ``key`` (``None`` when absent or when this is not a container)."""
        child: object = None
        if isinstance(key, int) and isinstance(self.value, list) and key < len(self.value):
            child = self.value[key]
        elif isinstance(key, str) and isinstance(self.value, dict):
            child = self.value.get(key)
        return Node(child, (*self.path, key), self.problems)

    def report(self, problem: Problem) -> None:
        self.problems.append(problem)

    def present(self) -> bool:
        return self.value is not None

    def _wrong(self, json_type: str) -> None:
        if self.value is not None:
            self.report(Problem(self.path, f"must be of type {json_type}"))

    def string(self) -> str:
        if isinstance(self.value, str):
            return self.value
        self._wrong("string")
        return ""

    def integer(self) -> int | None:
        if isinstance(self.value, int) and not isinstance(self.value, bool):
            return self.value
        self._wrong("integer")
        return None

    def boolean(self) -> bool | None:
        if isinstance(self.value, bool):
            return self.value
        self._wrong("boolean")
        return None

    def mapping(self) -> dict[str, Any]:
        if isinstance(self.value, dict):
            return self.value
        self._wrong("object")
        return {}

    def items(self) -> Iterator[Node]:
        """Each element of an array, as a node."""
        if isinstance(self.value, list):
            for index in range(len(self.value)):
                yield self.at(index)
        else:
            self._wrong("array")

    def allow_only(self, fields: Collection[str]) -> None:
        """Report each field of this object outside ``fields`` (``must not set the field(s)``).

        A field set to ``null`` counts as unset, as for Knative's masks of known fields:
        Go clients send zero values that way (``creationTimestamp: null`` in a template).
        """
        for key, value in sorted(self.mapping().items()):
            if key not in fields and value is not None:
                self.report(problems.disallowed_field((*self.path, key)))

    def string_map(self) -> dict[str, str]:
        """A ``map[string]string`` such as labels or annotations; bad values reported."""
        result = {}
        for key, value in self.mapping().items():
            if isinstance(value, str):
                result[key] = value
            else:
                self.report(Problem((*self.path, key), "must be of type string"))
        return result


def root(obj: dict[str, Any]) -> Node:
    """A node for a whole object, with a fresh problem list (``node.problems``)."""
    return Node(obj, (), [])


def dicts(value: object) -> list[dict[str, Any]]:
    """The mappings in ``value`` if it is a list (anything else in it is skipped)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
