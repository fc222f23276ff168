"""The errors CESQL defines (spec § 3.3), as Python values.

A *parse* error stops an expression from existing at all, so it is raised
(:class:`CesqlParseError`, with the position of the offending character). Every other
kind happens while an expression runs on one event and does not stop the expression
from having a value (§ 3.3: "an operator or function ... MUST result in a return value
as well as one or more error values"): the evaluator raises an :class:`EvaluationError`
internally, catches it at the top and hands it back in the result's error list.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from unkai.errors import UserError

if TYPE_CHECKING:
    from unkai.events.cesql.syntax import Node


class ErrorKind(StrEnum):
    """The error types every CESQL engine must support, named as in the TCK."""

    PARSE = "parse"
    MATH = "math"
    CAST = "cast"
    MISSING_ATTRIBUTE = "missingAttribute"
    MISSING_FUNCTION = "missingFunction"
    FUNCTION_EVALUATION = "functionEvaluation"
    GENERIC = "generic"


class CesqlParseError(UserError, ValueError):
    """The text is not a CESQL expression; ``offset`` is where it goes wrong (0-based)."""

    def __init__(self, reason: str, text: str, offset: int) -> None:
        self.reason = reason
        self.text = text
        self.offset = offset
        super().__init__(f"{reason} at {position(text, offset)}")


class EvaluationError(UserError):
    """An error while evaluating an expression on one event (any kind but ``parse``).

    ``value`` is what the failing operator or function returns along with the error
    where the spec names one (``ABS(-2147483648)`` is ``2147483647``); ``None`` means
    the zero value of its return type. ``origin`` is the syntax node that failed.
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        origin: Node | None = None,
        value: bool | int | str | None = None,
    ) -> None:
        self.kind = kind
        self.origin = origin
        self.value = value
        super().__init__(message)


def position(text: str, offset: int) -> str:
    """``column 7``, or ``line 2, column 3`` in an expression written over several lines."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"column {column}" if line == 1 else f"line {line}, column {column}"
