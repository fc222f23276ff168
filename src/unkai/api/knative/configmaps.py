"""Reading a Knative settings ConfigMap the way Knative's ``configmap.Parse`` does.

Knative parses each key with Go's ``strconv`` and ``time.ParseDuration`` and fails
with their messages (``failed to parse "key": strconv.ParseInt: parsing "x": invalid
syntax``); :class:`Reader` does the same for :mod:`.clusterconfig` and
:mod:`.autoscalerconfig`, but collects a problem per bad key instead of stopping at the
first, so that one write shows everything wrong with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from unkai.api.knative.autoscaling import parse_go_float, parse_go_int
from unkai.api.knative.durations import parse_go_duration
from unkai.api.yamlsource import Problem


class Reader:
    """Reads one map's keys (Knative's legacy camelCase alias first, the new key winning)
    and collects a problem per bad key instead of stopping at the first."""

    def __init__(self, data: Mapping[str, str]) -> None:
        self.data = data
        self.problems: list[Problem] = []

    def raw(self, key: str, alias: str = "") -> tuple[str, str] | None:
        for name in (key, alias):
            if name and name in self.data:
                return name, self.data[name]
        return None

    def bad(self, key: str, message: str) -> None:
        self.problems.append(Problem(("data", key), message))

    def value(self, key: str, parse: Callable[[str], Any], alias: str = "") -> Any:
        found = self.raw(key, alias)
        if found is None:
            return None
        name, text = found
        try:
            return parse(text)
        except ValueError as error:
            self.bad(name, f'failed to parse "{name}": {error}')
            return None

    def fixed(self, key: str, allowed: str, why: str, *, same: Callable[[str], str]) -> None:
        """``key`` may only say what ``unkai up`` does (``allowed``); otherwise refuse."""
        found = self.raw(key)
        if found is not None and same(found[1]) != same(allowed):
            self.bad(key, f'"{found[1]}" is not supported by unkai up: {why}')


def lower(text: str) -> str:
    return text.strip().lower()


def exact(text: str) -> str:
    return text


def go_bool(text: str) -> bool:
    """``strconv.ParseBool``, as ``cm.AsBool`` reads it."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def seconds(text: str) -> float:
    return parse_go_duration(text).total_seconds()


def go_int(text: str) -> int:
    try:
        return parse_go_int(text)
    except ValueError:
        raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None


def go_float(text: str) -> float:
    try:
        return parse_go_float(text)
    except ValueError:
        raise ValueError(f'strconv.ParseFloat: parsing "{text}": invalid syntax') from None
