"""How CESQL text becomes a tree: precedence and associativity as the spec's grammar
sets them, and parse errors that say what is wrong and where.

Aspects: NOT and unary minus bind tightest (before LIKE, IN and every binary
operator); LIKE before IN before * / % before + - before comparisons before the
logical operators, which share one level and group to the right; comparisons and
arithmetic group to the left; a sign against digits is part of the literal; every
syntax error raises CesqlParseError with the column (and line) of the offending
token; problems() finds unknown functions and non-Boolean results before any event.
"""

import pytest

from unkai.events import cesql


def value(expression: str) -> object:
    return cesql.parse(expression).evaluate({"id": "1", "x": "abc"}).value


@pytest.mark.parametrize(
    ("expression", "same_as"),
    [
        # the logical operators share one level and group to the right (grammar <assoc=right>)
        ("false AND true OR true", "false AND (true OR true)"),
        ("true OR true AND false", "true OR (true AND false)"),
        ("true XOR true AND false", "true XOR (true AND false)"),
        # comparisons bind tighter than logic, arithmetic tighter than comparisons
        ("1 + 1 = 2 AND 2 * 3 = 6", "((1 + 1) = 2) AND ((2 * 3) = 6)"),
        ("10 - 4 - 3", "(10 - 4) - 3"),
        ("100 / 10 / 5", "(100 / 10) / 5"),
        ("2 + 3 * 4", "2 + (3 * 4)"),
        ("1 < 2 = TRUE", "(1 < 2) = TRUE"),
        # NOT binds tighter than `=`, LIKE and IN
        ("NOT 'a' = 'b'", "(NOT 'a') = 'b'"),
        ("NOT FALSE LIKE 'true'", "(NOT FALSE) LIKE 'true'"),
        ("NOT TRUE IN (FALSE)", "(NOT TRUE) IN (FALSE)"),
        ("NOT (x = 'abc')", "FALSE"),
        # unary minus binds tighter than * and LIKE
        ("-2 * 3", "(-2) * 3"),
        ("-x * 3", "0"),  # x is 'abc': a cast error, the zero Integer
        # LIKE binds tighter than + and IN
        ("1 + x LIKE 'a%'", "1 + (x LIKE 'a%')"),
        ("x LIKE 'a%' IN (TRUE)", "(x LIKE 'a%') IN (TRUE)"),
        ("5 IN (5) = TRUE", "(5 IN (5)) = TRUE"),
    ],
)
def test_precedence_and_associativity(expression: str, same_as: str) -> None:
    assert value(expression) == value(same_as)


def test_the_grouping_is_visible_in_results() -> None:
    # SQL would read this as (false AND true) OR true = true; CESQL's grammar does not.
    assert value("false AND true OR true") is False
    assert value("NOT 'a' = 'b'") is False  # NOT 'a' is a cast error: zero value


@pytest.mark.parametrize(
    ("expression", "reason", "where"),
    [
        ("ABC(", "unexpected end of expression", "column 5"),
        ("x LIKE 123", "LIKE needs a string literal pattern, found '123'", "column 8"),
        ("x LIKE y", "LIKE needs a string literal pattern, found 'y'", "column 8"),
        ("2147483648", "integer literal 2147483648 is outside 32 bits", "column 1"),
        ("-2147483649", "integer literal -2147483649 is outside 32 bits", "column 1"),
        ("type = 'a' AND", "unexpected end of expression", "column 15"),
        ("type = 'a", "unterminated string literal", "column 8"),
        ("type == 'a'", "unexpected '='", "column 7"),
        ("a b", "unexpected 'b'", "column 3"),
        ("x IN ()", "unexpected ')'", "column 7"),
        ("x IN (1 2)", "expected ',' or ')', found '2'", "column 9"),
        ("(1 + 2", "expected ')', found end of expression", "column 7"),
        ("EXISTS 1 + 1", "EXISTS needs an attribute name, found '1'", "column 8"),
        ("EXISTS (x)", "EXISTS needs an attribute name, found '('", "column 8"),
        ("my_ext = 1", "invalid attribute name 'my_ext'", "column 1"),
        ("ABS1(2)", "invalid function name 'ABS1'", "column 1"),
        ("type = 'a' AND source # 'b'", "unexpected character '#'", "column 23"),
        ("x = 'a'\n  AND y = ", "unexpected end of expression", "line 2, column 11"),
        ("", "empty expression", "column 1"),
        ("+x", "unexpected '+'", "column 1"),
        ("in = 1", "unexpected 'IN'", "column 1"),
    ],
)
def test_parse_errors_name_what_and_where(expression: str, reason: str, where: str) -> None:
    with pytest.raises(cesql.CesqlParseError) as raised:
        cesql.parse(expression)
    assert str(raised.value) == f"{reason} at {where}"


@pytest.mark.parametrize(
    "expression",
    [
        "int(hop) < int(ttl) and int(hop) < 1000",
        "Concat_Ws('-', a, b) = 'x-y'",
        "LENGTH ( x ) = 3",
        "-  5 = -5",
        "a1 = 1 AND 1a = 2",
        "x\tLIKE\n'a%'",
    ],
)
def test_accepted_spellings(expression: str) -> None:
    cesql.parse(expression)


@pytest.mark.parametrize(
    ("expression", "problems"),
    [
        ("type = 'a'", []),
        ("myflag", []),  # an attribute may be a Boolean extension
        ("NOSUCH(type)", ["unknown function NOSUCH with 1 argument(s) at column 1"]),
        ("x AND SUBSTRING(x)", ["unknown function SUBSTRING with 1 argument(s) at column 7"]),
        ("LENGTH(type)", ["the expression is an Integer, never the Boolean a filter needs"]),
        ("'yes'", ["the expression is a String, never the Boolean a filter needs"]),
    ],
)
def test_problems_known_before_any_event(expression: str, problems: list[str]) -> None:
    assert cesql.parse(expression).problems() == problems
