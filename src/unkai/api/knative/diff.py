"""A readable diff of two JSON values, for "Immutable fields changed (-old +new)".

Knative prints a go-cmp diff in the error's details. Unkai prints one entry per changed
leaf, with its field path, so the user sees at once which field they may not change::

    spec.containers[0].image:
        -: "hello:v1"
        +: "hello:v2"
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from unkai.api.yamlsource import Path, format_path

_MISSING = object()


def _changes(old: object, new: object, path: Path = ()) -> Iterator[tuple[Path, object, object]]:
    """Every ``(path, old, new)`` where the two values differ; absent sides are ``_MISSING``."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            yield from _changes(old.get(key, _MISSING), new.get(key, _MISSING), (*path, key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            yield from _changes(before, after, (*path, index))
    elif old != new:
        yield path, old, new


def _show(value: object) -> str:
    return "(absent)" if value is _MISSING else json.dumps(value, sort_keys=True)


def diff(old: object, new: object, path: Path = ()) -> str:
    """The changes between ``old`` and ``new`` as text; empty when they are equal."""
    lines = []
    for where, before, after in _changes(old, new, path):
        lines += [
            f"{format_path(where) or '(root)'}:",
            f"\t-: {_show(before)}",
            f"\t+: {_show(after)}",
        ]
    return "\n".join(lines)
