"""CESQL v1 semantics, case by case: what an expression evaluates to on an event, and
which error comes with the value.

Aspects (the spec's TCK areas, in our own tables, plus edge cases it leaves out):
literals and keyword case; attribute access and the types attributes arrive in;
EXISTS; every operator with implicit casts; AND/OR short-circuit; IN; LIKE with
wildcards and escapes; casting functions; string and integer built-ins; error kinds
with the value they come with (missing attribute, cast, math, missing function,
function evaluation); 32-bit overflow; the filter answer (true and no error).
"""

from datetime import UTC, datetime
from typing import Any

import pytest

from unkai.events import cesql

EVENT: dict[str, object] = {
    "specversion": "1.0",
    "id": "order-17",
    "source": "https://shop.example/orders",
    "type": "com.example.order.created",
    "subject": "books",
    "region": "eu-west",
    "priority": 7,
    "express": True,
    "count": "42",
    "hop": "5",
    "ttl": "10",
}


def run(expression: str, **overrides: object) -> tuple[Any, str | None]:
    result = cesql.parse(expression).evaluate({**EVENT, **overrides})
    kind = result.errors[0].kind.value if result.errors else None
    return result.value, kind


def check(expression: str, value: object, error: str | None, **overrides: object) -> None:
    got, kind = run(expression, **overrides)
    assert (got, type(got), kind) == (value, type(value), error)


CASES = [
    # literals; keywords are case-insensitive, strings keep their case
    ("TRUE", True, None),
    ("fAlSe", False, None),
    ("0", 0, None),
    ("-2147483648", -(2**31), None),
    ("+12", 12, None),
    ("'MiXeD'", "MiXeD", None),
    ('"double"', "double", None),
    ("'it\\'s \"quoted\"'", 'it\'s "quoted"', None),
    ('"say \\"hi\\" it\'s"', 'say "hi" it\'s', None),
    ("'it''s'", "it's", None),
    # attributes: identifiers are case-insensitive; values keep their CESQL type
    ("id", "order-17", None),
    ("ID", "order-17", None),
    ("priority", 7, None),
    ("express", True, None),
    ("missing", False, "missingAttribute"),
    # EXISTS
    ("EXISTS subject", True, None),
    ("EXISTS missing", False, None),
    ("NOT EXISTS missing", True, None),
    ("EXISTS specversion AND EXISTS ID AND EXISTS type AND EXISTS Source", True, None),
    # unary operators
    ("NOT TRUE", False, None),
    ("NOT 'false'", True, None),
    ("NOT 0", True, None),
    ("NOT 10", False, None),  # the spec's cast table: Integer -> Boolean is "x != 0"
    ("NOT 'maybe'", False, "cast"),
    ("NOT missing", False, "missingAttribute"),
    ("-7", -7, None),
    ("--7", 7, None),
    ("-'7'", -7, None),
    ("- -'7'", 7, None),
    ("-TRUE", -1, None),
    ("-missing", 0, "missingAttribute"),
    # arithmetic: precedence, truncation, casts
    ("4 * 2 + 4 / 2", 10, None),
    ("4 * (2 + 4) / 2", 12, None),
    ("(2 + 3) * 4", 20, None),
    ("7 / 2", 3, None),
    ("-7 / 2", -3, None),
    ("7 % 3", 1, None),
    ("-7 % 3", -1, None),
    ("7 % -3", 1, None),
    ("-4 + -1", -5, None),
    ("4-1", 3, None),
    ("'5' + 3", 8, None),
    ("5 + '3'", 8, None),
    ("'5' + '3'", 8, None),
    ("5 + TRUE", 6, None),
    ("count * 2", 84, None),
    ("'five' + 1", 0, "cast"),
    ("5 / 0", 0, "math"),
    ("5 % 0", 0, "math"),
    ("missing / 0", 0, "missingAttribute"),
    ("1 / missing", 0, "missingAttribute"),
    ("missing * 5", 0, "missingAttribute"),
    # comparisons; `=` casts its left operand to the right one's type
    ("TRUE = FALSE", False, None),
    ("2 = 2", True, None),
    ("'abc' = 'abc'", True, None),
    ("'abc' = 'ABC'", False, None),
    ("2 != 2", False, None),
    ("'a' <> 'b'", True, None),
    ("true = 'TRUE'", False, None),
    ("'TRUE' = true", True, None),
    ("count = 42", True, None),
    ("priority = '7'", True, None),
    ("1 = TRUE", True, None),
    ("'x' = 1", False, "cast"),
    ("missing = 2", False, "missingAttribute"),
    ("missing <> 2", False, "missingAttribute"),
    ("2 <= 2", True, None),
    ("3 <= 2", False, None),
    ("1 < 2", True, None),
    ("2 > 2", False, None),
    ("2 >= 3", False, None),
    ("hop < ttl", True, None),  # both are cast to Integer: 5 < 10, not '5' < '10'
    ("'abc' < 1", False, "cast"),
    ("missing <= 2", False, "missingAttribute"),
    # logic and short-circuit
    ("TRUE AND FALSE", False, None),
    ("TRUE OR FALSE", True, None),
    ("TRUE XOR TRUE", False, None),
    ("FALSE XOR TRUE", True, None),
    ("false AND (1 != 1 / 0)", False, None),
    ("true AND (1 != 1 / 0)", False, "math"),
    ("true OR (1 != 1 / 0)", True, None),
    ("false OR (1 != 1 / 0)", False, "math"),
    ("false AND missing", False, None),
    ("true AND (missing = '')", False, "missingAttribute"),
    ("'true' AND 1", True, None),
    # IN casts each element to the left operand's type and stops at a match
    ("123 IN (1, 2, 123)", True, None),
    ("123 NOT IN (1, 2, 123)", False, None),
    ("'abc' IN ('abc', \"bcd\")", True, None),
    ("TRUE IN (FALSE)", False, None),
    ("'true' IN (TRUE, 'false')", True, None),
    ("'true' IN ('TRUE', 'false')", False, None),
    ("TRUE IN ('true', 'false')", True, None),
    ("'TRUE' IN (TRUE, 'false')", False, None),
    ("1 IN ('1', '2')", True, None),
    ("'1' IN (1, 2)", True, None),
    ("subject IN (region, 'books')", True, None),
    ("1 IN (1, missing)", True, None),
    ("2 IN (1, missing)", False, "missingAttribute"),
    ("1 IN ('one')", False, "cast"),
    # LIKE
    ("'abc' LIKE 'abc'", True, None),
    ("'abc' NOT LIKE 'abc'", False, None),
    ("'ab\\c' LIKE 'ab\\c'", True, None),
    ("'azzzbzzzc' LIKE 'a%b%c'", True, None),
    ("'ac' LIKE 'abc'", False, None),
    ("'' LIKE 'abc'", False, None),
    ("'' LIKE '%'", True, None),
    ("'.ab.cde.' LIKE '.%.%.'", True, None),
    ("'ab.cde' LIKE '.%.%.'", False, None),
    ("'azbzc' LIKE 'a_b_c'", True, None),
    ("'abc' LIKE 'a_b_c'", False, None),
    ("'abcd.' LIKE '._._.'", False, None),
    ("'a_b_c' LIKE 'a\\_b\\_c'", True, None),
    ("'azbzc' LIKE 'a\\_b\\_c'", False, None),
    ("'a%b%c' LIKE 'a\\%b\\%c'", True, None),
    ("'abc' LIKE 'a\\%b\\%c'", False, None),
    ("'abc123123%456_dzf' LIKE 'abc%123\\%456\\_d_f'", True, None),
    ("'line\nbreak' LIKE 'line_break'", True, None),
    ("'ABC' LIKE 'abc'", False, None),
    ("'aaa' LIKE '%a%a%a%'", True, None),
    ("'aa' LIKE '%a%a%a%'", False, None),
    ("'abab' LIKE '%ab'", True, None),
    ("'abcab' LIKE 'ab%ab'", True, None),
    ("'ab' LIKE 'ab%ab'", False, None),
    ("234 LIKE '23_'", True, None),
    ("2344 LIKE '23_'", False, None),
    ("TRUE LIKE 'tr%'", True, None),
    ("FALSE LIKE 'tr%'", False, None),
    ("type LIKE '%.created'", True, None),
    ("source LIKE 'https://%'", True, None),
    ("missing LIKE 'x%'", False, "missingAttribute"),
    ("missing NOT LIKE 'x%'", False, "missingAttribute"),
    # casting functions
    ("INT('1')", 1, None),
    ("INT('-1')", -1, None),
    ("INT('+1')", 1, None),
    ("INT(TRUE)", 1, None),
    ("INT('ABC')", 0, "cast"),
    ("INT(' 1')", 0, "cast"),
    ("INT('1.5')", 0, "cast"),
    ("INT('2147483648')", 0, "cast"),
    ("BOOL('TRUE')", True, None),
    ('BOOL("false")', False, None),
    ("BOOL('yes')", False, "cast"),
    ("BOOL(0)", False, None),
    ("BOOL(-50)", True, None),
    ("STRING(TRUE)", "true", None),
    ("STRING(-1)", "-1", None),
    ("STRING('abc')", "abc", None),
    ("IS_INT('12')", True, None),
    ("IS_INT('twelve')", False, None),
    ("IS_BOOL('False')", True, None),
    ("IS_BOOL(2)", True, None),
    ("int(hop) < int(ttl) and int(hop) < 1000", True, None),
    # string functions
    ("LENGTH('abc')", 3, None),
    ("LENGTH('')", 0, None),
    ("LENGTH(TRUE)", 4, None),
    ("LENGTH('日本')", 2, None),
    ("CONCAT()", "", None),
    ("CONCAT('a', 1, TRUE)", "a1true", None),
    ("CONCAT_WS(',', 'a', 'b', 'c')", "a,b,c", None),
    ("CONCAT_WS(',')", "", None),
    ("CONCAT_WS()", False, "missingFunction"),
    ("LOWER('AbC')", "abc", None),
    ("UPPER('AbC')", "ABC", None),
    ("TRIM('   a b c   ')", "a b c", None),
    ("TRIM('a b c')", "a b c", None),
    ("LEFT('abc', 2)", "ab", None),
    ("LEFT('abc', 10)", "abc", None),
    ("LEFT('', 0)", "", None),
    ("LEFT('abc', -2)", "abc", "functionEvaluation"),
    ("RIGHT('abc', 2)", "bc", None),
    ("RIGHT('abc', 0)", "", None),
    ("RIGHT('abc', 10)", "abc", None),
    ("RIGHT('abc', -2)", "abc", "functionEvaluation"),
    ("SUBSTRING('abcdef', 1)", "abcdef", None),
    ("SUBSTRING('Quadratically', 5)", "ratically", None),
    ("SUBSTRING('Sakila', -3)", "ila", None),
    ("SUBSTRING('abcdef', 2, 4)", "bcde", None),
    ("SUBSTRING('Sakila', -5, 3)", "aki", None),
    ("SUBSTRING('abcdef', 3, 100)", "cdef", None),
    ("SUBSTRING('Quadratically', 0)", "", None),
    ("SUBSTRING('Quadratically', 0, 1)", "", None),
    ("SUBSTRING('abcdef', 10)", "", "functionEvaluation"),
    ("SUBSTRING('abcdef', -10)", "", "functionEvaluation"),
    ("SUBSTRING('abcdef', -10, 10)", "", "functionEvaluation"),
    ("SUBSTRING('abcdef', 2, -1)", "", "functionEvaluation"),
    ("LEFT('abc', 'two')", "", "cast"),
    ("LENGTH(missing)", 0, "missingAttribute"),
    # integer functions and 32-bit overflow
    ("ABS(10)", 10, None),
    ("ABS(-10)", 10, None),
    ("ABS(-2147483648)", 2147483647, "math"),
    ("ABS(-2147483648) = 2147483647", False, "math"),
    ("2147483647 + 1", 0, "math"),
    ("-2147483648 - 1", 0, "math"),
    ("65536 * 65536", 0, "math"),
    ("-2147483648 / -1", 0, "math"),
    ("-2147483648 % -1", 0, None),
    ("-(-2147483648)", 0, "math"),
    ("2147483647 + 1 > 0", False, "math"),
    # functions that do not exist
    ("NOSUCH(1)", False, "missingFunction"),
    ("ABS(1, 2)", False, "missingFunction"),
    ("true OR NOSUCH()", True, None),
]


@pytest.mark.parametrize(("expression", "value", "error"), CASES)
def test_expression(expression: str, value: object, error: str | None) -> None:
    check(expression, value, error)


def test_trim_removes_unicode_whitespace_and_keeps_control_characters() -> None:
    check("TRIM(x)", "a b", None, x="\u3000\t a b\u00a0\n")
    check("TRIM(x)", "\x1fa\x1c", None, x=" \x1fa\x1c ")


@pytest.mark.parametrize(
    ("value", "seen"),
    [
        (datetime(2018, 4, 26, 12, 48, 9, tzinfo=UTC), "2018-04-26T12:48:09Z"),
        (b"\x00\xff", "AP8="),
        (2**31, "2147483648"),
        (3.5, "3.5"),
    ],
)
def test_attributes_of_other_types_are_their_canonical_strings(value: object, seen: str) -> None:
    check("x", seen, None, x=value)


def test_an_attribute_set_to_none_is_missing() -> None:
    check("EXISTS x", False, None, x=None)
    check("x = 'a'", False, "missingAttribute", x=None)


@pytest.mark.parametrize(
    ("expression", "matches"),
    [
        ("type = 'com.example.order.created'", True),
        ("type = 'other'", False),
        ("subject", False),  # a String, not the Boolean true
        ("express", True),
        ("missing = 'x' OR TRUE", False),  # an error never matches, whatever the value
        ("NOT (missing = 'x')", False),
        ("5 / 0 = 0", False),
    ],
)
def test_a_filter_matches_only_on_true_without_error(expression: str, matches: bool) -> None:
    assert cesql.parse(expression).matches(EVENT) is matches


def test_a_hostile_like_pattern_stays_linear() -> None:
    text = "a" * 20_000
    expression = cesql.parse("x LIKE '" + "%a" * 30 + "%b'")
    assert expression.evaluate({"x": text}).value is False


def test_the_error_names_the_missing_attribute() -> None:
    [error] = cesql.parse("region = 'eu-west' AND tenant = 'acme'").evaluate(EVENT).errors
    assert error.kind is cesql.ErrorKind.MISSING_ATTRIBUTE
    assert "tenant" in str(error)
