"""CESQL's syntax tree and the parser that builds it from tokens.

The parser is hand-written (top-down operator precedence, "Pratt") rather than
generated: the grammar is a dozen rules, a Pratt parser states precedence and
associativity as one table of binding powers that reads like spec § 3.6, it reports
the exact offset of the first error, and it adds no dependency to a layer the function
runtime imports (lark would be the choice for a bigger grammar). Parsing happens once
per Trigger, so its speed matters less than the evaluator's.

Precedence follows the spec's grammar (``CESQLParser.g4``) and therefore sdk-go, the
engine Knative runs, from tightest to loosest: function calls; ``NOT`` and unary
``-`` (so ``NOT a = b`` is ``(NOT a) = b``); ``LIKE``; ``IN``; ``* / %``; ``+ -``;
comparisons; ``AND OR XOR``. Binary operators group to the left except the logical ones,
which the grammar marks right-associative and gives one level: ``a AND b OR c`` is
``a AND (b OR c)``. A sign written against digits is part of the integer literal
(``-2147483648`` is a valid literal), as in the grammar's lexer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from unkai.events.cesql.errors import CesqlParseError
from unkai.events.cesql.lexer import Kind, Token, tokenize
from unkai.events.cesql.types import Value, in_range


@dataclass(frozen=True, eq=False)
class Node:
    offset: int


@dataclass(frozen=True, eq=False)
class Literal(Node):
    value: Value


@dataclass(frozen=True, eq=False)
class Identifier(Node):
    name: str  # lower-case: attribute names are case-insensitive in CESQL


@dataclass(frozen=True, eq=False)
class Exists(Node):
    name: str


@dataclass(frozen=True, eq=False)
class Unary(Node):
    operator: str  # "NOT" or "-"
    operand: Node


@dataclass(frozen=True, eq=False)
class Binary(Node):
    operator: str
    left: Node
    right: Node


@dataclass(frozen=True, eq=False)
class Like(Node):
    operand: Node
    pattern: str
    negated: bool


@dataclass(frozen=True, eq=False)
class In(Node):
    operand: Node
    elements: tuple[Node, ...]
    negated: bool


@dataclass(frozen=True, eq=False)
class Call(Node):
    name: str  # upper-case
    arguments: tuple[Node, ...]


LOGICAL: Final = frozenset({"AND", "OR", "XOR"})
COMPARISON: Final = frozenset({"=", "!=", "<>", "<", "<=", ">", ">="})
ARITHMETIC: Final = frozenset({"+", "-", "*", "/", "%"})

# Binding powers: how tightly an operator holds the expression on its left.
_LOGICAL, _COMPARISON, _ADDITIVE, _MULTIPLICATIVE, _IN, _LIKE, _UNARY = 10, 20, 30, 40, 50, 60, 70
_INFIX: Final = {
    **dict.fromkeys(LOGICAL, _LOGICAL),
    **dict.fromkeys(COMPARISON, _COMPARISON),
    "+": _ADDITIVE,
    "-": _ADDITIVE,
    **dict.fromkeys("*/%", _MULTIPLICATIVE),
    "IN": _IN,
    "LIKE": _LIKE,
}
_IDENTIFIER: Final = re.compile(r"[A-Za-z0-9]+")
_FUNCTION: Final = re.compile(r"[A-Za-z][A-Za-z_]*")


def parse(text: str) -> Node:
    """The syntax tree of ``text``; raises CesqlParseError naming the offset."""
    parser = _Parser(text, tokenize(text))
    if parser.peek().kind is Kind.END:
        raise CesqlParseError("empty expression", text, 0)
    node = parser.expression(0)
    parser.expect_end()
    return node


class _Parser:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def fail(self, reason: str, token: Token) -> CesqlParseError:
        return CesqlParseError(reason, self.text, token.offset)

    def unexpected(self, token: Token) -> CesqlParseError:
        return self.fail(f"unexpected {token.describe()}", token)

    def expect(self, symbol: str) -> Token:
        token = self.advance()
        if token.kind is not Kind.SYMBOL or token.text != symbol:
            raise self.fail(f"expected {symbol!r}, found {token.describe()}", token)
        return token

    def expect_end(self) -> None:
        if (token := self.peek()).kind is not Kind.END:
            raise self.unexpected(token)

    def expression(self, right_power: int) -> Node:
        left = self.prefix(self.advance())
        while right_power < self.infix_power():
            left = self.infix(left, self.advance())
        return left

    def infix_power(self) -> int:
        token = self.peek()
        if token.kind is Kind.KEYWORD and token.text == "NOT":
            following = self.peek(1)
            if following.kind is Kind.KEYWORD and following.text in ("LIKE", "IN"):
                return _INFIX[following.text]
            return 0
        if token.kind in (Kind.SYMBOL, Kind.KEYWORD):
            return _INFIX.get(token.text, 0)
        return 0

    def prefix(self, token: Token) -> Node:
        kind, text = token.kind, token.text
        if kind is Kind.INTEGER:
            return self.integer(token, text)
        if kind is Kind.STRING:
            return Literal(token.offset, text)
        if kind is Kind.KEYWORD and text in ("TRUE", "FALSE"):
            return Literal(token.offset, text == "TRUE")
        if kind is Kind.KEYWORD and text == "NOT":
            return Unary(token.offset, "NOT", self.expression(_UNARY))
        if kind is Kind.KEYWORD and text == "EXISTS":
            name = self.advance()
            if name.kind is not Kind.WORD or not _IDENTIFIER.fullmatch(name.text):
                raise self.fail(f"EXISTS needs an attribute name, found {name.describe()}", name)
            return Exists(token.offset, name.text.lower())
        if kind is Kind.SYMBOL and text in ("+", "-"):
            digits = self.peek()
            if digits.kind is Kind.INTEGER and digits.offset == token.end:
                return self.integer(self.advance(), text + digits.text, token.offset)
            if text == "-":
                return Unary(token.offset, "-", self.expression(_UNARY))
        if kind is Kind.SYMBOL and text == "(":
            inner = self.expression(0)
            self.expect(")")
            return inner
        if kind is Kind.WORD:
            return self.word(token)
        raise self.unexpected(token)

    def integer(self, token: Token, text: str, offset: int | None = None) -> Literal:
        start = token.offset if offset is None else offset
        if not in_range(value := int(text)):
            raise CesqlParseError(f"integer literal {text} is outside 32 bits", self.text, start)
        return Literal(start, value)

    def word(self, token: Token) -> Node:
        following = self.peek()
        if following.kind is Kind.SYMBOL and following.text == "(":
            if not _FUNCTION.fullmatch(token.text):
                raise self.fail(f"invalid function name {token.text!r}", token)
            self.advance()
            return Call(token.offset, token.text.upper(), self.elements(allow_empty=True))
        if not _IDENTIFIER.fullmatch(token.text):
            raise self.fail(f"invalid attribute name {token.text!r}", token)
        return Identifier(token.offset, token.text.lower())

    def elements(self, *, allow_empty: bool) -> tuple[Node, ...]:
        """The comma-separated expressions after an opening ``(``, and the ``)``."""
        found: list[Node] = []
        closing = self.peek()
        if allow_empty and closing.kind is Kind.SYMBOL and closing.text == ")":
            self.advance()
            return ()
        while True:
            found.append(self.expression(0))
            separator = self.advance()
            if separator.kind is Kind.SYMBOL and separator.text == ")":
                return tuple(found)
            if separator.kind is not Kind.SYMBOL or separator.text != ",":
                raise self.fail(f"expected ',' or ')', found {separator.describe()}", separator)

    def infix(self, left: Node, token: Token) -> Node:
        negated = token.text == "NOT"
        if negated:
            token = self.advance()
        if token.text == "LIKE":
            pattern = self.advance()
            if pattern.kind is not Kind.STRING:
                reason = f"LIKE needs a string literal pattern, found {pattern.describe()}"
                raise self.fail(reason, pattern)
            return Like(token.offset, left, pattern.text, negated)
        if token.text == "IN":
            self.expect("(")
            return In(token.offset, left, self.elements(allow_empty=False), negated)
        power = _INFIX[token.text]
        right = self.expression(power - 1 if token.text in LOGICAL else power)
        return Binary(token.offset, token.text, left, right)
