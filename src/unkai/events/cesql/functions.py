"""CESQL's built-in functions (spec § 3.5) and how a call finds its definition.

A function is known by name and arity; a name may also have one variadic definition
whose fixed parameters outnumber every other arity of that name (§ 3.5), which is how
``CONCAT()`` exists while ``CONCAT_WS()`` does not. Arguments are cast to the parameter
types before the body runs (§ 3.7), so a body sees Python values of the right type and
only has to raise its own *functionEvaluation* or *math* errors, with the value the
spec says the call returns along with them.

The casting functions ``INT``, ``BOOL``, ``STRING`` (used by the spec's TCK) and
``IS_INT``, ``IS_BOOL`` (sdk-go's, so Knative filters that use them work) are here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from unkai.events.cesql.errors import ErrorKind, EvaluationError
from unkai.events.cesql.syntax import Literal
from unkai.events.cesql.types import (
    INT_MAX,
    INT_MIN,
    Converter,
    Type,
    Value,
    to_boolean,
    to_integer,
    to_string,
)

# Unicode's White_Space property: what TRIM removes (§ 3.5.1). Python's str.strip()
# would also remove the control characters U+001C..U+001F, which the spec keeps.
WHITESPACE: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# A node for casts the functions themselves perform; the caller re-labels the error.
_HERE: Final = Literal(0, False)


@dataclass(frozen=True)
class Function:
    name: str
    parameters: tuple[Type, ...]
    returns: Type
    body: Callable[..., Value]
    variadic: Type | None = None  # the type of each argument after the fixed ones

    def parameter(self, index: int) -> Type:
        if index < len(self.parameters):
            return self.parameters[index]
        assert self.variadic is not None
        return self.variadic


def _abs(x: int) -> int:
    if x == INT_MIN:
        raise EvaluationError(ErrorKind.MATH, "ABS(-2147483648) overflows", value=INT_MAX)
    return abs(x)


def _left(x: str, y: int) -> str:
    if y < 0:
        raise EvaluationError(ErrorKind.FUNCTION_EVALUATION, f"LEFT: {y} < 0", value=x)
    return x[:y]


def _right(x: str, y: int) -> str:
    if y < 0:
        raise EvaluationError(ErrorKind.FUNCTION_EVALUATION, f"RIGHT: {y} < 0", value=x)
    return x[len(x) - y :] if y < len(x) else x


def _start(x: str, pos: int) -> int | None:
    """The 0-based start of ``SUBSTRING(x, pos, ...)``; None for ``pos = 0``."""
    if pos == 0:
        return None
    if pos > len(x) or pos < -len(x):
        message = f"SUBSTRING: position {pos} is outside a string of length {len(x)}"
        raise EvaluationError(ErrorKind.FUNCTION_EVALUATION, message)
    return pos - 1 if pos > 0 else len(x) + pos


def _substring(x: str, pos: int) -> str:
    start = _start(x, pos)
    return "" if start is None else x[start:]


def _substring_length(x: str, pos: int, length: int) -> str:
    if length < 0:
        message = f"SUBSTRING: length {length} < 0"
        raise EvaluationError(ErrorKind.FUNCTION_EVALUATION, message)
    start = _start(x, pos)
    return "" if start is None else x[start : start + length]


def _can(convert: Converter) -> Callable[[Value], bool]:
    def test(x: Value) -> bool:
        try:
            convert(x, _HERE)
        except EvaluationError:
            return False
        return True

    return test


def _to(convert: Converter) -> Callable[[Value], Value]:
    return lambda x: convert(x, _HERE)


_S, _I, _B, _ANY = Type.STRING, Type.INTEGER, Type.BOOLEAN, Type.ANY
BUILTINS: Final = (
    Function("ABS", (_I,), _I, _abs),
    Function("LENGTH", (_S,), _I, len),
    Function("CONCAT", (), _S, lambda *xs: "".join(xs), variadic=_S),
    Function("CONCAT_WS", (_S,), _S, lambda sep, *xs: sep.join(xs), variadic=_S),
    Function("LOWER", (_S,), _S, str.lower),
    Function("UPPER", (_S,), _S, str.upper),
    Function("TRIM", (_S,), _S, lambda x: x.strip(WHITESPACE)),
    Function("LEFT", (_S, _I), _S, _left),
    Function("RIGHT", (_S, _I), _S, _right),
    Function("SUBSTRING", (_S, _I), _S, _substring),
    Function("SUBSTRING", (_S, _I, _I), _S, _substring_length),
    Function("INT", (_ANY,), _I, _to(to_integer)),
    Function("BOOL", (_ANY,), _B, _to(to_boolean)),
    Function("STRING", (_ANY,), _S, _to(to_string)),
    Function("IS_INT", (_ANY,), _B, _can(to_integer)),
    Function("IS_BOOL", (_ANY,), _B, _can(to_boolean)),
)


def resolve(name: str, arity: int) -> Function | None:
    """The definition a call ``name(...)`` with ``arity`` arguments dispatches to."""
    variadic = None
    for function in BUILTINS:
        if function.name != name:
            continue
        if function.variadic is None and len(function.parameters) == arity:
            return function
        if function.variadic is not None and arity >= len(function.parameters):
            variadic = function
    return variadic
