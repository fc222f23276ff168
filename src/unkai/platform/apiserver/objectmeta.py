"""Kubernetes' ObjectMeta rules, for every kind: what a client may write in ``metadata``.

The server reads ``ownerReferences`` and ``finalizers`` itself (garbage collection,
deletion), and clients decode ``metadata`` into a typed ObjectMeta, so one value of the
wrong shape, stored once, would break both for the whole kind. Like Kubernetes'
``ValidateObjectMeta`` these rules run on every create and update of the main resource,
and each breach is a 422 cause naming its field:

* ``name`` (or, on create, a ``generateName`` prefix, which may end in ``-`` or
  ``.``): a DNS-1123 label for namespaces (their names become parts of host names), a
  DNS-1123 subdomain for every other kind;
* ``labels``: qualified-name keys, label values;
* ``annotations``: qualified-name keys, string values, 256 KiB in all;
* ``ownerReferences``: objects with non-empty ``apiVersion``, ``kind``, ``name`` and
  ``uid`` strings, boolean ``controller`` and ``blockOwnerDeletion``, one controller;
* ``finalizers``: qualified names.

``namespace`` is settled before: it must be the namespace the URL names, which must
exist. The system fields (uid, timestamps, generation, managedFields) are the server's
and it overwrites whatever a client sends in them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from unkai.api.knative.names import dns1123_label, dns1123_subdomain, qualified_name
from unkai.api.yamlsource import Path, Problem
from unkai.platform.apiserver.types import Object, ResourceType

ANNOTATIONS_MAX = 256 * 1024
"""Kubernetes' ``TotalAnnotationSizeLimitB``: keys and values together."""
_LABEL_VALUE_MAX = 63
_LABEL_VALUE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
_LABEL_VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', "
    "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  "
    f"or 'my_value',  or '12345', regex used for validation is '{_LABEL_VALUE}')"
)
_OWNER_STRINGS = ("apiVersion", "kind", "name", "uid")
_OWNER_FLAGS = ("controller", "blockOwnerDeletion")


def problems(rt: ResourceType, metadata: Object) -> list[Problem]:
    """Everything wrong with ``metadata`` (already known to be a dict) for kind ``rt``."""
    rule = dns1123_label if rt.group_resource == "namespaces" else dns1123_subdomain
    return [
        *_names(metadata, rule),
        *_string_map(metadata, "labels", _label_problems),
        *_string_map(metadata, "annotations", _annotation_problems),
        *_owner_references(metadata.get("ownerReferences")),
        *_finalizers(metadata.get("finalizers")),
    ]


def _shown(value: Any) -> str:
    """A value as Kubernetes quotes it in ``Invalid value: ...``, cut short if long."""
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _invalid(path: Path, value: Any, why: str) -> Problem:
    return Problem(path, f"Invalid value: {_shown(value)}: {why}")


def _names(metadata: Object, rule: Callable[[str], list[str]]) -> list[Problem]:
    """``name`` and ``generateName``: one of them, strings, each valid by ``rule``."""
    if not metadata.get("name") and not metadata.get("generateName"):
        return [Problem(("metadata", "name"), "Required value: name or generateName is required")]
    found = []
    for key in ("name", "generateName"):
        value = metadata.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            found.append(_invalid(("metadata", key), value, "must be a string"))
            continue
        # A prefix may end where a name may not: Kubernetes masks a final "-"; "." too
        # here, as event names are "{object}.{suffix}" (client-go and our recorder).
        prefix = key == "generateName" and value.endswith(("-", "."))
        checked = value[:-1] + "a" if prefix else value
        found += [_invalid(("metadata", key), value, why) for why in rule(checked)]
    return found


def _string_map(
    metadata: Object, key: str, entries: Callable[[Path, dict[str, str]], list[Problem]]
) -> list[Problem]:
    """A map of strings to strings (``labels``, ``annotations``), then its own rules."""
    path: Path = ("metadata", key)
    value = metadata.get(key)
    if value is None:
        return []
    if not isinstance(value, dict):
        return [_invalid(path, value, "must be a map of strings to strings")]
    wrong = [_invalid(path, v, f"the value of {_shown(k)} must be a string")
             for k, v in value.items() if not isinstance(v, str)]  # fmt: skip
    return wrong or entries(path, value)


def _label_problems(path: Path, labels: dict[str, str]) -> list[Problem]:
    found = []
    for key, value in labels.items():
        found += [_invalid(path, key, why) for why in qualified_name(key)]
        if len(value) > _LABEL_VALUE_MAX:
            found.append(
                _invalid(path, value, f"must be no more than {_LABEL_VALUE_MAX} characters")
            )
        if re.fullmatch(_LABEL_VALUE, value) is None:
            found.append(_invalid(path, value, _LABEL_VALUE_RULE))
    return found


def _annotation_problems(path: Path, annotations: dict[str, str]) -> list[Problem]:
    found = [_invalid(path, key, why) for key in annotations for why in qualified_name(key.lower())]
    size = sum(len(_utf8(key)) + len(_utf8(value)) for key, value in annotations.items())
    if size > ANNOTATIONS_MAX:
        found.append(Problem(path, f"Too long: must have at most {ANNOTATIONS_MAX} bytes"))
    return found


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _owner_references(references: Any) -> list[Problem]:
    path: Path = ("metadata", "ownerReferences")
    if references is None:
        return []
    if not isinstance(references, list):
        return [_invalid(path, references, "must be a list of owner references")]
    found: list[Problem] = []
    controllers = []
    for index, reference in enumerate(references):
        where: Path = (*path, index)
        if not isinstance(reference, dict):
            found.append(_invalid(where, reference, "must be an owner reference (an object)"))
            continue
        for key in _OWNER_STRINGS:
            value = reference.get(key)
            if not isinstance(value, str) and value is not None:
                found.append(_invalid((*where, key), value, "must be a string"))
            elif not value or (key == "apiVersion" and value.endswith("/")):
                noun = "version" if key == "apiVersion" else key
                found.append(_invalid((*where, key), value or "", f"{noun} must not be empty"))
        for key in _OWNER_FLAGS:
            flag = reference.get(key)
            if flag is not None and not isinstance(flag, bool):
                found.append(_invalid((*where, key), flag, "must be a boolean"))
        if reference.get("controller") is True:
            controllers.append(f"{reference.get('kind')}/{reference.get('name')}")
    if len(controllers) > 1:
        found.append(Problem(path, (
            'Only one reference can have Controller set to true. Found "true" in references '
            f"for {controllers[0]} and {controllers[1]}"
        )))  # fmt: skip
    return found


def _finalizers(finalizers: Any) -> list[Problem]:
    path: Path = ("metadata", "finalizers")
    if finalizers is None:
        return []
    if not isinstance(finalizers, list):
        return [_invalid(path, finalizers, "must be a list of finalizer names")]
    found = []
    for finalizer in finalizers:
        if not isinstance(finalizer, str):
            found.append(_invalid(path, finalizer, "must be a string"))
        else:
            found += [_invalid(path, finalizer, why) for why in qualified_name(finalizer)]
    return found
