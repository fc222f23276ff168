"""CESQL text to tokens, each with the offset it starts at.

Keywords are case-insensitive (spec § 2), so a word is classified by its upper-case
form; identifiers and function names keep their spelling here and are folded by the
parser. String literals follow the grammar's lexer (``CESQLLexer.g4``): a backslash
takes the next character with it, so ``'it\\'s'`` is one literal, and a doubled quote
(``'it''s'``) stands for one quote as in SQL. Only an escaped delimiter loses its
backslash: ``'a\\_b'`` keeps ``\\_`` for ``LIKE`` to read as a literal underscore.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, auto
from typing import Final

from unkai.events.cesql.errors import CesqlParseError


class Kind(Enum):
    INTEGER = auto()
    STRING = auto()
    WORD = auto()  # an identifier or a function name
    KEYWORD = auto()
    SYMBOL = auto()
    END = auto()


KEYWORDS: Final = frozenset({"AND", "OR", "XOR", "NOT", "LIKE", "IN", "EXISTS", "TRUE", "FALSE"})
_SYMBOLS: Final = ("<>", "<=", ">=", "!=", "(", ")", ",", "+", "-", "*", "/", "%", "=", "<", ">")
_WORD: Final = re.compile(r"[A-Za-z0-9_]+")
_SPACE: Final = frozenset(" \t\r\n")


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str  # as written; for KEYWORD upper-case; for STRING the decoded value
    offset: int
    end: int

    def describe(self) -> str:
        if self.kind is Kind.END:
            return "end of expression"
        if self.kind is Kind.STRING:
            return "string literal"
        return repr(self.text)


def tokenize(text: str) -> list[Token]:
    """Every token of ``text``, ending with an END token; raises CesqlParseError."""
    tokens: list[Token] = []
    offset, size = 0, len(text)
    while offset < size:
        char = text[offset]
        if char in _SPACE:
            offset += 1
        elif char in "'\"":
            value, end = _string(text, offset)
            tokens.append(Token(Kind.STRING, value, offset, end))
            offset = end
        elif word := _WORD.match(text, offset):
            tokens.append(_word(word.group(), offset))
            offset = word.end()
        else:
            symbol = next((s for s in _SYMBOLS if text.startswith(s, offset)), None)
            if symbol is None:
                raise CesqlParseError(f"unexpected character {char!r}", text, offset)
            tokens.append(Token(Kind.SYMBOL, symbol, offset, offset + len(symbol)))
            offset += len(symbol)
    tokens.append(Token(Kind.END, "", size, size))
    return tokens


def _word(word: str, offset: int) -> Token:
    end = offset + len(word)
    if word.isdigit():
        return Token(Kind.INTEGER, word, offset, end)
    upper = word.upper()
    if upper in KEYWORDS:
        return Token(Kind.KEYWORD, upper, offset, end)
    return Token(Kind.WORD, word, offset, end)


def _string(text: str, start: int) -> tuple[str, int]:
    """The value of the literal opening at ``start`` and the offset after it."""
    quote = text[start]
    parts: list[str] = []
    offset = start + 1
    while offset < len(text):
        char = text[offset]
        if char == "\\" and offset + 1 < len(text):
            following = text[offset + 1]
            parts.append(following if following == quote else char + following)
            offset += 2
        elif char == quote:
            if text.startswith(quote, offset + 1):
                parts.append(quote)
                offset += 2
            else:
                return "".join(parts), offset + 1
        else:
            parts.append(char)
            offset += 1
    raise CesqlParseError("unterminated string literal", text, start)
