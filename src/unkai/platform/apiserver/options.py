"""Request options: query parameters and ``DeleteOptions``, read as Kubernetes reads them.

Kubernetes decodes both into typed option structs, so a value of the wrong type is a
400 naming the parameter, never a server error, and a value outside what is supported
a 422 ``Invalid`` on the options kind (``CreateOptions.meta.k8s.io "" is invalid:
dryRun: ...``). Here:

* booleans (``watch``, ``force``): absent, ``false`` and ``0`` are false, anything
  else is true (Kubernetes' ``Convert_Slice_string_To_bool``, empty included);
* integers (``limit``, ``gracePeriodSeconds``): 64-bit decimal integers; accepted and
  otherwise ignored, as the server serves one page and deletes at once;
* ``timeoutSeconds``: whole seconds or, beyond Kubernetes, fractions of one;
* ``resourceVersion``: a revision, which is a non-negative integer;
* ``dryRun``: only ``All``;
* ``DeleteOptions``: ``preconditions`` an object of ``uid`` and ``resourceVersion``
  strings, ``propagationPolicy`` one of Kubernetes' three, ``dryRun`` a list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams

from unkai.api.yamlsource import Problem
from unkai.platform.apiserver import cascade, errors

_INTEGER = re.compile(r"[-+]?[0-9]{1,19}")
_SECONDS = re.compile(r"[0-9]{1,10}(\.[0-9]{1,9})?")
_REVISION = re.compile(r"[0-9]{1,19}")
_DELETE_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "preconditions": (lambda value: isinstance(value, dict), "an object"),
    "gracePeriodSeconds": (lambda value: type(value) is int, "an integer"),
    "propagationPolicy": (lambda value: isinstance(value, str), "a string"),
    "orphanDependents": (lambda value: isinstance(value, bool), "a boolean"),
    "dryRun": (lambda value: isinstance(value, list), "a list of strings"),
}


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def boolean(query: QueryParams, name: str) -> bool:
    values = query.getlist(name)
    return bool(values) and values[0] != "0" and values[0].lower() != "false"


def integer(query: QueryParams, name: str) -> int | None:
    text = query.get(name) or None
    if text is None:
        return None
    value = int(text) if _INTEGER.fullmatch(text) else None
    if value is None or not -(2**63) <= value < 2**63:
        raise errors.bad_request(f"invalid {name} {_shown(text)}: must be a 64-bit integer")
    return value


def seconds(query: QueryParams, name: str) -> float | None:
    text = query.get(name) or None
    if text is not None and not _SECONDS.fullmatch(text):
        raise errors.bad_request(
            f"invalid {name} {_shown(text)}: must be a non-negative number of seconds"
        )
    return None if text is None else float(text)


def revision(resource_version: Any) -> int:
    """A ``resourceVersion`` as the store's revision number; 400 if it is not one."""
    text = str(resource_version)
    if not _REVISION.fullmatch(text):
        raise errors.bad_request(
            f"invalid resourceVersion {_shown(text)}: must be a non-negative integer"
        )
    return int(text)


def resource_version(query: QueryParams) -> str | None:
    """The ``resourceVersion`` parameter, checked to be one (lists ignore it)."""
    text = query.get("resourceVersion") or None
    if text is not None:
        revision(text)
    return text


def dry_run(query: QueryParams, options_kind: str, also: list[Any] | None = None) -> bool:
    """Whether ``dryRun`` (in the query, and ``also`` from a body) asks for a dry run;
    only ``All`` may, as in Kubernetes."""
    values = [*query.getlist("dryRun"), *(also or [])]
    for value in values:
        if value != "All":
            raise _unsupported(options_kind, "dryRun", value, ("All",))
    return bool(values)


def _unsupported(kind: str, field: str, value: Any, supported: tuple[str, ...]) -> errors.ApiError:
    allowed = ", ".join(f'"{choice}"' for choice in supported)
    shown = json.dumps(value, default=str)
    problem = Problem((field,), f"Unsupported value: {shown}: supported values: {allowed}")
    return errors.invalid(group="meta.k8s.io", kind=kind, name="", problems=[problem])


@dataclass(frozen=True)
class DeleteOptions:
    """What a DELETE asks for that the server acts on."""

    preconditions: dict[str, str]
    dry_run: bool
    propagation: str = cascade.BACKGROUND


def delete_options(query: QueryParams, body: Any) -> DeleteOptions:
    """The options of a DELETE, from its query and its body (a ``DeleteOptions``, or
    None when it has none)."""
    options = {} if body is None else body
    if not isinstance(options, dict):
        raise errors.bad_request("the body of a DELETE must be a DeleteOptions object")
    for name, (valid, noun) in _DELETE_FIELDS.items():
        value = options.get(name)
        if value is not None and not valid(value):
            raise errors.bad_request(f"DeleteOptions.{name} must be {noun}")
    preconditions = options.get("preconditions") or {}
    for key in ("uid", "resourceVersion"):
        if not isinstance(preconditions.get(key), str | None):
            raise errors.bad_request(f"DeleteOptions.preconditions.{key} must be a string")
    policy = options.get("propagationPolicy") or query.get("propagationPolicy")
    if policy is not None and policy not in cascade.POLICIES:
        raise _unsupported("DeleteOptions", "propagationPolicy", policy, cascade.POLICIES)
    integer(query, "gracePeriodSeconds")
    kept = {key: preconditions[key] for key in ("uid", "resourceVersion") if preconditions.get(key)}
    asked_dry_run = dry_run(query, "DeleteOptions", options.get("dryRun"))
    return DeleteOptions(kept, asked_dry_run, policy or cascade.BACKGROUND)
