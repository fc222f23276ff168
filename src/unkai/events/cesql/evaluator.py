"""A syntax tree compiled once into nested closures, evaluated per event.

Each node becomes a function of the event's attributes that returns a CESQL value or
raises :class:`EvaluationError`. Evaluation is fail-fast (spec § 4.1, the mode it
recommends for filters): the first error stops it, and the expression's value is the
zero value of its return type, or the value the failing operator itself defines when
it is the outermost one (``ABS(-2147483648)`` is ``2147483647`` with a math error).
A missing attribute fails the subexpression that reads it (§ 3.2), so ``1 / missing``
is a missing-attribute error, not a division by zero. ``AND`` and ``OR`` do not
evaluate their right operand when the left one decides (§ 3.4.2).

Closures rather than a tree-walking interpreter: a call per node, no dispatch on node
types per event, constants (the cast target of ``= 'a'``, a ``LIKE`` pattern)
resolved once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from unkai.events.cesql import functions, like
from unkai.events.cesql.errors import ErrorKind, EvaluationError
from unkai.events.cesql.syntax import (
    ARITHMETIC,
    COMPARISON,
    LOGICAL,
    Binary,
    Call,
    Exists,
    Identifier,
    In,
    Like,
    Literal,
    Node,
    Unary,
)
from unkai.events.cesql.types import (
    CONVERTERS,
    Type,
    Value,
    converter,
    from_attribute,
    integer,
    to_boolean,
    to_integer,
    to_string,
    type_of,
)

Attributes = Mapping[str, object]
Compiled = Callable[[Attributes], Value]

# Present in every valid event, so EXISTS on them is true (§ 3.4.4).
REQUIRED: Final = frozenset({"specversion", "id", "source", "type"})


def return_type(node: Node) -> Type:
    """The static type of ``node``'s value; ANY for an attribute."""
    if isinstance(node, Literal):
        return type_of(node.value)
    if isinstance(node, Identifier):
        return Type.ANY
    if isinstance(node, Call):
        function = functions.resolve(node.name, len(node.arguments))
        return Type.BOOLEAN if function is None else function.returns
    if isinstance(node, Unary):
        return Type.INTEGER if node.operator == "-" else Type.BOOLEAN
    if isinstance(node, Binary) and node.operator in ARITHMETIC:
        return Type.INTEGER
    return Type.BOOLEAN


def compile_node(node: Node) -> Compiled:
    if isinstance(node, Literal):
        value = node.value
        return lambda attributes: value
    if isinstance(node, Identifier):
        return _identifier(node)
    if isinstance(node, Exists):
        return _exists(node)
    if isinstance(node, Unary):
        return _not(node) if node.operator == "NOT" else _negate(node)
    if isinstance(node, Binary):
        if node.operator in LOGICAL:
            return _logical(node)
        if node.operator in COMPARISON:
            return _equality(node) if node.operator in ("=", "!=", "<>") else _order(node)
        return _arithmetic(node)
    if isinstance(node, Like):
        return _like(node)
    if isinstance(node, In):
        return _in(node)
    assert isinstance(node, Call)
    return _call(node)


def _identifier(node: Identifier) -> Compiled:
    name = node.name

    def read(attributes: Attributes) -> Value:
        value = attributes.get(name)
        if value is None:
            raise EvaluationError(ErrorKind.MISSING_ATTRIBUTE, f"no attribute {name!r}", node)
        return value if type(value) is str else from_attribute(value)

    return read


def _exists(node: Exists) -> Compiled:
    name = node.name
    if name in REQUIRED:
        return lambda attributes: True
    return lambda attributes: attributes.get(name) is not None


def _not(node: Unary) -> Compiled:
    operand = compile_node(node.operand)

    return lambda attributes: not to_boolean(operand(attributes), node)


def _negate(node: Unary) -> Compiled:
    operand = compile_node(node.operand)
    return lambda attributes: integer(-to_integer(operand(attributes), node), node)


def _logical(node: Binary) -> Compiled:
    left, right = compile_node(node.left), compile_node(node.right)

    def both(attributes: Attributes) -> Value:
        return to_boolean(left(attributes), node) and to_boolean(right(attributes), node)

    def either(attributes: Attributes) -> Value:
        return to_boolean(left(attributes), node) or to_boolean(right(attributes), node)

    def differ(attributes: Attributes) -> Value:
        return to_boolean(left(attributes), node) != to_boolean(right(attributes), node)

    return {"AND": both, "OR": either, "XOR": differ}[node.operator]


def _equality(node: Binary) -> Compiled:
    """``=`` is ambiguous (§ 3.7): the left operand is cast to the right one's type."""
    left, right, equal = compile_node(node.left), compile_node(node.right), node.operator == "="

    def compare(attributes: Attributes) -> Value:
        first, second = left(attributes), right(attributes)
        if type(first) is not type(second):
            first = CONVERTERS[type(second)](first, node)
        return (first == second) is equal

    return compare


_ORDER: Final[Mapping[str, Callable[[int, int], bool]]] = {
    "<": int.__lt__,
    "<=": int.__le__,
    ">": int.__gt__,
    ">=": int.__ge__,
}


def _order(node: Binary) -> Compiled:
    left, right, test = compile_node(node.left), compile_node(node.right), _ORDER[node.operator]

    def compare(attributes: Attributes) -> Value:
        first, second = left(attributes), right(attributes)
        return test(to_integer(first, node), to_integer(second, node))

    return compare


def _quotient(x: int, y: int, node: Node) -> int:
    """``x / y`` rounded towards zero (Python's ``//`` rounds down)."""
    if y == 0:
        raise EvaluationError(ErrorKind.MATH, "division by zero", node)
    quotient = abs(x) // abs(y)
    return integer(quotient if (x < 0) == (y < 0) else -quotient, node)


def _remainder(x: int, y: int, node: Node) -> int:
    """The remainder of ``x / y``, with the sign of ``x`` (never outside 32 bits)."""
    if y == 0:
        raise EvaluationError(ErrorKind.MATH, "division by zero", node)
    remainder = abs(x) % abs(y)
    return remainder if x >= 0 else -remainder


_ARITHMETIC: Final[Mapping[str, Callable[[int, int, Node], int]]] = {
    "+": lambda x, y, node: integer(x + y, node),
    "-": lambda x, y, node: integer(x - y, node),
    "*": lambda x, y, node: integer(x * y, node),
    "/": _quotient,
    "%": _remainder,
}


def _arithmetic(node: Binary) -> Compiled:
    """Both operands are evaluated before either is cast (a missing attribute on the
    right is reported even when the left one is not a number)."""
    left, right, operate = (
        compile_node(node.left),
        compile_node(node.right),
        _ARITHMETIC[node.operator],
    )

    def calculate(attributes: Attributes) -> Value:
        first, second = left(attributes), right(attributes)
        return operate(to_integer(first, node), to_integer(second, node), node)

    return calculate


def _like(node: Like) -> Compiled:
    operand, matches, negated = compile_node(node.operand), like.compile(node.pattern), node.negated
    return lambda attributes: matches(to_string(operand(attributes), node)) is not negated


def _in(node: In) -> Compiled:
    """Each element is cast to the left operand's type (§ 3.4.5); stops at a match."""
    operand, negated = compile_node(node.operand), node.negated
    elements = tuple(compile_node(element) for element in node.elements)

    def contains(attributes: Attributes) -> Value:
        value = operand(attributes)
        kind = type(value)
        convert = CONVERTERS[kind]
        for element in elements:
            candidate = element(attributes)
            if type(candidate) is not kind:
                candidate = convert(candidate, node)
            if candidate == value:
                return not negated
        return negated

    return contains


def _call(node: Call) -> Compiled:
    function = functions.resolve(node.name, len(node.arguments))
    if function is None:
        message = f"no function {node.name} with {len(node.arguments)} argument(s)"

        def missing(attributes: Attributes) -> Value:
            raise EvaluationError(ErrorKind.MISSING_FUNCTION, message, node)

        return missing
    arguments = tuple(
        (compile_node(argument), converter(function.parameter(index)))
        for index, argument in enumerate(node.arguments)
    )
    body = function.body
    if len(arguments) == 1:
        [(argument, convert)] = arguments

        def call_one(attributes: Attributes) -> Value:
            value = argument(attributes)
            return _apply(body, node, value if convert is None else convert(value, node))

        return call_one

    def call(attributes: Attributes) -> Value:
        values = [
            argument(attributes) if convert is None else convert(argument(attributes), node)
            for argument, convert in arguments
        ]
        return _apply(body, node, *values)

    return call


def _apply(body: Callable[..., Value], node: Call, *values: Value) -> Value:
    """``body(*values)``, its own errors marked as this call's."""
    try:
        return body(*values)
    except EvaluationError as error:
        error.origin = node
        raise
