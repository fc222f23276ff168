"""What an instance may use, from the container's ``resources.limits``.

Kubernetes writes amounts as *quantities* (``128Mi``, ``1G``, ``500m``, ``1.5``).
:func:`quantity` reads them here rather than through ``lightkube.utils.quantity``
because this module is imported by every zygote, and importing lightkube costs about
160 ms of cold start; the grammar is small.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from unkai.errors import UserError
from unkai.platform.contracts import Reason
from unkai.platform.runners.base import RunnerError

DEFAULT_PIDS: Final = 512
"""Processes and threads an instance may have at once: a fork bomb stops here."""

_SUFFIXES: Final[dict[str, int | Decimal]] = {
    "": 1,
    "m": Decimal("0.001"),
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}  # fmt: skip
_QUANTITY: Final = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)([a-zA-Z]*)")


class QuantityError(UserError, ValueError):
    """Not a Kubernetes quantity (the message says which and why)."""


@dataclass(frozen=True)
class Limits:
    """``memory`` in bytes and ``cpu`` in cores, ``None`` when not limited; ``pids`` always."""

    memory: int | None = None
    cpu: float | None = None
    pids: int = DEFAULT_PIDS


def quantity(text: object) -> Decimal:
    """The value of a Kubernetes quantity such as ``"128Mi"`` or ``"250m"``."""
    match = _QUANTITY.fullmatch(str(text).strip())
    if match is None or match.group(2) not in _SUFFIXES:
        raise QuantityError(f"{text!r} is not a quantity (like 128Mi, 1G, 500m or 2)")
    try:
        value = Decimal(match.group(1)) * Decimal(_SUFFIXES[match.group(2)])
    except InvalidOperation:
        raise QuantityError(f"{text!r} is not a quantity") from None
    if value < 0:
        raise QuantityError(f"{text!r} is negative")
    return value


def from_resources(resources: Mapping[str, Any] | None) -> Limits:
    """The limits of a container's ``resources`` (``requests`` only place pods on a
    cluster's nodes; there is one node here, so they change nothing)."""
    limits = (resources or {}).get("limits") or {}
    memory = limits.get("memory")
    cpu = limits.get("cpu")
    return Limits(
        memory=None if memory is None else int(quantity(memory)),
        cpu=None if cpu is None else float(quantity(cpu)),
    )


def checked(resources: Mapping[str, Any] | None) -> Limits:
    """:func:`from_resources` for a runner: a bad quantity fails the revision with
    ``FunctionInvalid``, naming the field."""
    try:
        return from_resources(resources)
    except QuantityError as error:
        field = "spec.containers[0].resources.limits"
        raise RunnerError(Reason.FUNCTION_INVALID, f"{field}: {error}") from None
