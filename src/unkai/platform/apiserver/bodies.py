"""Request bodies: read up to a size limit, then decoded strictly to plain JSON values.

What one client writes, every other client reads back, so a value some client cannot
decode must be refused on the way in, or one object breaks listing its whole kind.
Each refusal is a 400 saying what was wrong:

* a body over :data:`MAX_BYTES` (3 MiB, Kubernetes' limit) is a 413; it is read chunk by
  chunk and reading stops at the limit, so a larger body is never held;
* NaN and ±Infinity (Python's ``json`` reads them; Go's, and so kubectl, does not),
  and integers beyond 64 bits (which Go clients cannot read either, and which cost
  Python time quadratic in their digits);
* nesting deeper than :data:`MAX_DEPTH` levels (deep enough for any object; deeper
  would overflow the server's recursion when it copies, merges or encodes the object);
* in YAML (apply patches): anchors and aliases (a kilobyte of nested aliases expands
  to gigabytes), ``.nan`` and ``.inf``, and values JSON has no form for (``!!binary``,
  sets). Timestamps stay strings and keys become strings, as Kubernetes converts
  YAML to JSON, and the decoded value must fit :data:`MAX_BYTES` as JSON too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, NoReturn

import yaml
from starlette.requests import Request
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from unkai.errors import UserError
from unkai.platform.apiserver import errors

MAX_BYTES = 3 * 1024 * 1024
MAX_DEPTH = 100
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_NUMBER_TEXT = 100
"""Longer number text is out of range in any base: refused before converting it."""


async def read(request: Request) -> bytes:
    """The whole body, or a 413 as soon as it is known to exceed :data:`MAX_BYTES`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and (len(declared) > 9 or int(declared) > MAX_BYTES):
        raise errors.too_large(MAX_BYTES)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BYTES:
            raise errors.too_large(MAX_BYTES)
    return bytes(body)


def _int64(text: str, convert: Callable[[], int]) -> int | str:
    """The integer ``text`` spells (``convert`` reads it), or why it cannot be stored."""
    value = convert() if len(text) <= _NUMBER_TEXT else None
    if value is not None and _INT64_MIN <= value <= _INT64_MAX:
        return value
    shown = text if len(text) <= 24 else f"{text[:20]}... ({len(text)} characters)"
    return f"integer {shown} is out of range: integers must fit in 64 bits"


class _RefusedError(UserError, ValueError):
    """A JSON number the server does not store (raised from the decoder's hooks)."""


def _json_int(text: str) -> int:
    value = _int64(text, lambda: int(text))
    if isinstance(value, str):
        raise _RefusedError(value)
    return value


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _RefusedError(f"{text} is out of range for a 64-bit float")
    return value


def _json_constant(name: str) -> NoReturn:
    raise _RefusedError(f"{name} is not a JSON number (JSON numbers are finite)")


def parse_json(raw: bytes) -> Any:
    """Strict JSON; raises :class:`json.JSONDecodeError` (or ``UnicodeDecodeError``)
    for text that is not JSON at all, an ``ApiError`` for JSON the server refuses."""
    too_deep = errors.bad_request(f"the request body nests deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(
            raw, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant
        )
    except _RefusedError as error:
        raise errors.bad_request(f"the request body is not valid JSON: {error}") from None
    except RecursionError:
        raise too_deep from None
    if _depth(value) > MAX_DEPTH:
        raise too_deep
    return value


def _depth(value: Any) -> int:
    """How deeply ``value`` nests, counted without recursion (up to MAX_DEPTH + 1)."""
    deepest, stack = 0, [(value, 1)] if isinstance(value, dict | list) else []
    while stack and deepest <= MAX_DEPTH:
        node, level = stack.pop()
        deepest = max(deepest, level)
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader without anchors and aliases, bounded in depth, and with
    JSON's numbers (finite floats, 64-bit integers) and timestamps left as text."""

    def __init__(self, stream: bytes) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in the stubs
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise ComposerError(None, None, "anchors and aliases are not allowed", event.start_mark)
        nests = isinstance(event, yaml.CollectionStartEvent)
        if nests and self._depth == MAX_DEPTH:
            raise ComposerError(
                None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark
            )
        self._depth += nests
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= nests

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        value = _int64(str(node.value), lambda: yaml.SafeLoader.construct_yaml_int(self, node))
        if isinstance(value, str):
            raise ConstructorError(None, None, value, node.start_mark)
        return value

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        value: float = super().construct_yaml_float(node)
        if not math.isfinite(value):
            why = f"{node.value} is not allowed: JSON numbers are finite"
            raise ConstructorError(None, None, why, node.start_mark)
        return value

    def construct_timestamp(self, node: yaml.ScalarNode) -> str:
        """Timestamps stay text, as Kubernetes' YAML-to-JSON conversion leaves them."""
        return str(self.construct_scalar(node))


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)
_StrictLoader.add_constructor("tag:yaml.org,2002:float", _StrictLoader.construct_yaml_float)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_timestamp)


def parse_yaml(raw: bytes) -> Any:
    """Strict YAML (a single document) as the JSON value it stands for; slow on large
    bodies (pure Python), so callers run it off the event loop."""
    try:
        value = yaml.load(raw, Loader=_StrictLoader)
    except yaml.YAMLError as error:
        raise errors.bad_request(f"the request body is not valid YAML: {error}") from None
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise errors.bad_request(
            f"the request body has a value JSON cannot hold: {error}"
        ) from None
    if len(text) > MAX_BYTES:
        raise errors.too_large(MAX_BYTES)
    return json.loads(text)
