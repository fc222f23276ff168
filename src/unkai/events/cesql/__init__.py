"""CloudEvents SQL (CESQL) v1: parse an expression once, evaluate it on many events.

``parse(text)`` checks the text and compiles it; ``Expression.evaluate(attributes)``
gives the value and the error list the spec defines (§ 3.3), ``Expression.matches``
is the filter's question (§ 1.2: a Boolean ``true`` and no error). ``problems()`` lists
what can be known wrong before any event arrives (an unknown function, a result that
is never a Boolean), for admission. The modules: ``lexer`` and ``syntax`` (text to
tree), ``types`` (values and casts), ``functions`` (built-ins), ``like`` (patterns),
``evaluator`` (tree to closures). Where Unkai departs from the spec's text, its TCK or
sdk-go, docs/eventing.md says so and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from unkai.events.cesql import evaluator, functions, syntax
from unkai.events.cesql.errors import CesqlParseError, ErrorKind, EvaluationError, position
from unkai.events.cesql.types import Type, Value

__all__ = [
    "CesqlParseError",
    "ErrorKind",
    "EvaluationError",
    "Expression",
    "Result",
    "Type",
    "Value",
    "parse",
]


@dataclass(frozen=True)
class Result:
    """An expression's value on one event and the errors met (at most one: fail-fast)."""

    value: Value
    errors: tuple[EvaluationError, ...] = ()


class Expression:
    """A parsed, compiled CESQL expression; immutable and safe to share."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tree = syntax.parse(text)
        self.type = evaluator.return_type(self.tree)
        self._run = evaluator.compile_node(self.tree)

    def evaluate(self, attributes: Mapping[str, object]) -> Result:
        try:
            return Result(self._run(attributes))
        except EvaluationError as error:
            own = error.value if error.origin is self.tree else None
            return Result(self.type.zero if own is None else own, (error,))

    def matches(self, attributes: Mapping[str, object]) -> bool:
        """Whether an event passes this expression as a filter: ``true``, no error."""
        try:
            return self._run(attributes) is True
        except EvaluationError:
            return False

    def problems(self) -> list[str]:
        """What makes this expression fail or never pass on every event, with where."""
        found = [
            f"unknown function {node.name} with {len(node.arguments)} argument(s) at "
            f"{position(self.text, node.offset)}"
            for node in _walk(self.tree)
            if isinstance(node, syntax.Call)
            and functions.resolve(node.name, len(node.arguments)) is None
        ]
        if self.type in (Type.INTEGER, Type.STRING):
            kind = "an Integer" if self.type is Type.INTEGER else "a String"
            found.append(f"the expression is {kind}, never the Boolean a filter needs")
        return found

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def parse(text: str) -> Expression:
    """``text`` parsed and compiled; raises :class:`CesqlParseError` with the position."""
    return Expression(text)


def _walk(node: syntax.Node) -> list[syntax.Node]:
    children: list[syntax.Node] = []
    if isinstance(node, syntax.Unary):
        children = [node.operand]
    elif isinstance(node, syntax.Binary):
        children = [node.left, node.right]
    elif isinstance(node, syntax.Like):
        children = [node.operand]
    elif isinstance(node, syntax.In):
        children = [node.operand, *node.elements]
    elif isinstance(node, syntax.Call):
        children = list(node.arguments)
    return [node, *(found for child in children for found in _walk(child))]
