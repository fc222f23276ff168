"""CESQL against independent oracles, on generated inputs.

Aspects: LIKE (segment matching, no backtracking) agrees with a regular expression
built from the same pattern, for any pattern of literals, wildcards and escapes;
integer division truncates towards zero and the remainder takes the dividend's sign;
results outside 32 bits are math errors, never wrapped values.
"""

import re

from hypothesis import given
from hypothesis import strategies as st

from unkai.events import cesql
from unkai.events.cesql import like

PATTERN = st.lists(st.sampled_from(["a", "b", "%", "_", "\\%", "\\_", "\\", "."]), max_size=8)
TEXT = st.text(alphabet="ab%_\\.", max_size=10)
INT32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)


def oracle(pattern: str) -> re.Pattern[str]:
    """The pattern as a backtracking regular expression: slow, obviously right."""
    parts = re.findall(r"\\[%_]|.", pattern, re.DOTALL)
    translated = {"%": ".*", "_": "."}
    regex = "".join(
        re.escape(part[1]) if len(part) == 2 else translated.get(part, re.escape(part))
        for part in parts
    )
    return re.compile(regex, re.DOTALL)


@given(PATTERN, TEXT)
def test_like_agrees_with_a_regular_expression(pieces: list[str], text: str) -> None:
    pattern = "".join(pieces)
    assert like.compile(pattern)(text) == (oracle(pattern).fullmatch(text) is not None)


def value_of(expression: str) -> tuple[object, list[str]]:
    result = cesql.parse(expression).evaluate({})
    return result.value, [error.kind.value for error in result.errors]


@given(INT32, INT32.filter(lambda y: y != 0))
def test_division_truncates_and_the_remainder_follows_the_dividend(x: int, y: int) -> None:
    quotient, remainder = value_of(f"{x} / {y}"), value_of(f"{x} % {y}")
    expected = abs(x) // abs(y) * (1 if (x < 0) == (y < 0) else -1)
    if -(2**31) <= expected < 2**31:
        assert quotient == (expected, [])
    else:
        assert quotient == (0, ["math"])
    rest = x - y * expected
    assert rest == 0 or (rest < 0) == (x < 0)  # the spec: the sign of x
    assert remainder == (rest, [])


@given(INT32, INT32, st.sampled_from(["+", "-", "*"]))
def test_results_outside_32_bits_are_math_errors(x: int, y: int, operator: str) -> None:
    exact = {"+": x + y, "-": x - y, "*": x * y}[operator]
    if -(2**31) <= exact < 2**31:
        assert value_of(f"{x} {operator} {y}") == (exact, [])
    else:
        assert value_of(f"{x} {operator} {y}") == (0, ["math"])
