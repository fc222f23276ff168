"""``LIKE`` patterns (spec § 3.4.3) compiled into a matcher that cannot blow up.

``%`` is any run of characters, ``_`` any one character, ``\\%`` and ``\\_`` the
characters themselves; every other character, a backslash before anything else
included, is itself (sdk-go reads ``'ab\\c'`` the same way), and case counts.

The pattern is cut at each ``%`` into segments of fixed length (literal characters and
``_``). The first segment must match at the start, the last at the end, and each one
between at its leftmost place after the previous one: leftmost is always right for
``%``, so there is no backtracking: a hostile pattern such as ``%a%a%a%a%b`` costs one
scan of the text per segment, where the translated regular expression
(``.*a.*a.*a.*a.*b``) backtracks, its cost a power of the text's length.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

Matcher = Callable[[str], bool]


@dataclass(frozen=True)
class Segment:
    """A run of the pattern between ``%``s: ``length`` characters, ``_`` among them or not."""

    regex: re.Pattern[str]
    literal: str | None  # the text itself when the segment has no ``_``
    length: int

    def at(self, text: str, start: int) -> bool:
        if self.literal is not None:
            return text.startswith(self.literal, start)
        return self.regex.match(text, start) is not None

    def find(self, text: str, start: int) -> int:
        """Where the leftmost match at or after ``start`` ends; -1 if there is none."""
        if self.literal is not None:
            found = text.find(self.literal, start)
            return -1 if found < 0 else found + self.length
        match = self.regex.search(text, start)
        return -1 if match is None else match.end()


def segments(pattern: str) -> list[Segment]:
    """``pattern`` cut at each unescaped ``%``."""
    found: list[Segment] = []
    regex: list[str] = []
    literal: list[str] | None = []
    index = 0
    while index <= len(pattern):
        char = pattern[index : index + 1]
        if char == "\\" and pattern[index + 1 : index + 2] in ("%", "_"):
            char = pattern[index + 1]
            index += 1
        elif char in ("%", ""):
            text = None if literal is None else "".join(literal)
            found.append(Segment(re.compile("".join(regex), re.DOTALL), text, len(regex)))
            regex, literal = [], []
            index += 1
            continue
        elif char == "_":
            regex.append(".")
            literal = None
            index += 1
            continue
        regex.append(re.escape(char))
        if literal is not None:
            literal.append(char)
        index += 1
    return found


def compile(pattern: str) -> Matcher:
    """A function telling whether a whole text matches ``pattern``."""
    parts = segments(pattern)
    if len(parts) == 1:
        [whole] = parts
        return lambda text: len(text) == whole.length and whole.at(text, 0)
    first, middle, last = parts[0], [part for part in parts[1:-1] if part.length], parts[-1]

    def matches(text: str) -> bool:
        if not first.at(text, 0):
            return False
        position = first.length
        for part in middle:
            position = part.find(text, position)
            if position < 0:
                return False
        start = len(text) - last.length
        return start >= position and last.at(text, start)

    return matches
