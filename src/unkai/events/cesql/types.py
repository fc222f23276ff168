"""CESQL's three types, their zero values and the casts between them (spec § 3.1, § 3.7).

Values are plain Python ``bool``, ``int`` and ``str``; ``type(value) is int`` tells an
Integer from a Boolean (``bool`` is a subclass of ``int`` in Python, so ``isinstance``
would not). Integers are 32-bit signed: an operation whose result leaves that range is a
*math* error rather than a silent wrap (sdk-go wraps, see docs/eventing.md).

A cast that the type table allows but whose input does not fit (``INT('abc')``,
``BOOL('yes')``) raises a *cast* error; casting to String always succeeds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from enum import Enum
from typing import TYPE_CHECKING, Final

from unkai.events.attributes import as_string
from unkai.events.cesql.errors import ErrorKind, EvaluationError

if TYPE_CHECKING:
    from unkai.events.cesql.syntax import Node

Value = bool | int | str

INT_MIN: Final = -(2**31)
INT_MAX: Final = 2**31 - 1
_INTEGER_TEXT: Final = re.compile(r"[+-]?[0-9]+")


class Type(Enum):
    """A CESQL type; ``ANY`` is a parameter that takes every type without a cast, or an
    attribute's type before an event is seen."""

    BOOLEAN = bool
    INTEGER = int
    STRING = str
    ANY = object

    @property
    def zero(self) -> Value:
        """The zero value (§ 3.1); an unknown type's is Boolean's (§ 3.2)."""
        return _ZEROS[self]


_ZEROS: Final[Mapping[Type, Value]] = {
    Type.BOOLEAN: False,
    Type.INTEGER: 0,
    Type.STRING: "",
    Type.ANY: False,
}


def type_of(value: Value) -> Type:
    return Type(type(value))


def in_range(value: int) -> bool:
    return INT_MIN <= value <= INT_MAX


def integer(value: int, origin: Node) -> int:
    """``value`` if it fits 32 bits; otherwise a math error."""
    if INT_MIN <= value <= INT_MAX:
        return value
    raise EvaluationError(ErrorKind.MATH, f"integer overflow: {value} is not 32-bit", origin)


def to_boolean(value: Value, origin: Node) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    lower = value.lower()
    if lower == "true":
        return True
    if lower == "false":
        return False
    raise EvaluationError(ErrorKind.CAST, f"cannot cast {value!r} to Boolean", origin)


def to_integer(value: Value, origin: Node) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if _INTEGER_TEXT.fullmatch(value) and in_range(number := int(value)):
        return number
    raise EvaluationError(ErrorKind.CAST, f"cannot cast {value!r} to Integer", origin)


def to_string(value: Value, origin: Node) -> str:
    return value if isinstance(value, str) else as_string(value)


Converter = Callable[[Value, "Node"], Value]
# The cast to each Python type of a value: `CONVERTERS[type(other)](value, node)` casts
# ``value`` to the type of ``other`` without going through the Type enum per event.
CONVERTERS: Final[Mapping[type, Converter]] = {
    bool: to_boolean,
    int: to_integer,
    str: to_string,
}


def converter(target: Type) -> Converter | None:
    """The cast to ``target``, decided once; None for ``ANY`` (no cast)."""
    return None if target is Type.ANY else CONVERTERS[target.value]


def cast(value: Value, target: Type, origin: Node) -> Value:
    """``value`` as ``target`` (``ANY`` keeps it as it is)."""
    convert = converter(target)
    return value if convert is None else convert(value, origin)


def from_attribute(value: object) -> Value:
    """An attribute's value as a CESQL value: Boolean, Integer (if it fits 32 bits) and
    String stay as they are, anything else is its string form (§ 3.2)."""
    if isinstance(value, str | bool):
        return value
    if isinstance(value, int) and in_range(value):
        return value
    return as_string(value)
