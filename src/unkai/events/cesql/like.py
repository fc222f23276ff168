"""``LIKE`` patterns (spec § 3.4.3) compiled into a matcher that cannot blow up.

``%`` is any run of characters, ``_`` any one character, ``\\%`` and ``\\_`` the
characters themselves; every other character, a backslash before anything else
included, is itself (sdk-go reads ``'ab\\c'`` the same way), and case counts.

The pattern is cut at each ``%`` into segments of fixed length (literal characters and
``_``). The first segment must match at the start, the last at the end, and each one
between at its leftmost place after the previous one: leftmost is always right for
``%``, so there is no backtracking, and a hostile pattern such as ``%a%a%a%a%b`` costs
at most one scan of the text per segment, where a translated regular expression
(``.*a.*a.*a.*a.*b``) backtracks exponentially on a long attribute.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Matcher = Callable[[str], bool]


def segments(pattern: str) -> list[str]:
    """``pattern`` cut at each unescaped ``%``, each part as a regular expression."""
    parts: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and pattern[index + 1 : index + 2] in ("%", "_"):
            current.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        if char == "%":
            parts.append("".join(current))
            current = []
        else:
            current.append("." if char == "_" else re.escape(char))
        index += 1
    parts.append("".join(current))
    return parts


def compile(pattern: str) -> Matcher:
    """A function telling whether a whole text matches ``pattern``."""
    parts = segments(pattern)
    if len(parts) == 1:
        whole = re.compile(parts[0], re.DOTALL)
        return lambda text: whole.fullmatch(text) is not None
    first = re.compile(parts[0], re.DOTALL)
    last = re.compile(parts[-1] + r"\Z", re.DOTALL)
    middle = [re.compile(part, re.DOTALL) for part in parts[1:-1] if part]

    def matches(text: str) -> bool:
        found = first.match(text)
        if found is None:
            return False
        position = found.end()
        for part in middle:
            found = part.search(text, position)
            if found is None:
                return False
            position = found.end()
        return last.search(text, position) is not None

    return matches
