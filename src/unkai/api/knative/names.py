"""Kubernetes and Knative name rules, with the messages apimachinery gives.

Knative names every serving object with a DNS-1035 label (it becomes a host name),
and derives child names with ``kmeta.ChildName``, which hashes a parent that would
make the child longer than 63 characters instead of refusing it.
"""

from __future__ import annotations

import hashlib
import re

LABEL_MAX = 63
SUBDOMAIN_MAX = 253
QUALIFIED_NAME_MAX = 63

_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + r"(\." + _DNS1123_LABEL + r")*"
_DNS1035_LABEL = r"[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"

_MSG_DNS1123_LABEL = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
    "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
    f"'123-abc', regex used for validation is '{_DNS1123_LABEL}')"
)
_MSG_DNS1123_SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character (e.g. "
    f"'example.com', regex used for validation is '{_DNS1123_SUBDOMAIN}')"
)
_MSG_DNS1035_LABEL = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
    "with an alphabetic character, and end with an alphanumeric character (e.g. "
    f"'my-name',  or 'abc-123', regex used for validation is '{_DNS1035_LABEL}')"
)
_MSG_QUALIFIED_NAME = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
    f"'123-abc', regex used for validation is '{_QUALIFIED_NAME}')"
)


def _check(value: str, *, pattern: str, message: str, limit: int) -> list[str]:
    errors = []
    if len(value) > limit:
        errors.append(f"must be no more than {limit} characters")
    if re.fullmatch(pattern, value) is None:
        errors.append(message)
    return errors


def dns1123_label(value: str) -> list[str]:
    """Why ``value`` is not an RFC 1123 label (empty when it is one)."""
    return _check(value, pattern=_DNS1123_LABEL, message=_MSG_DNS1123_LABEL, limit=LABEL_MAX)


def dns1123_subdomain(value: str) -> list[str]:
    """Why ``value`` is not an RFC 1123 subdomain (service account names, ...)."""
    return _check(
        value, pattern=_DNS1123_SUBDOMAIN, message=_MSG_DNS1123_SUBDOMAIN, limit=SUBDOMAIN_MAX
    )


def dns1035_label(value: str, *, prefix: bool = False) -> list[str]:
    """Why ``value`` is not a DNS-1035 label; ``prefix`` allows a trailing dash."""
    if prefix and value.endswith("-"):
        value = value[:-1] + "a"
    return _check(value, pattern=_DNS1035_LABEL, message=_MSG_DNS1035_LABEL, limit=LABEL_MAX)


def qualified_name(value: str) -> list[str]:
    """Why ``value`` is not a qualified name (``[prefix/]name``), as for traffic targets."""
    prefix, slash, name = value.rpartition("/")
    errors = []
    if slash:
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors += [f"prefix part {error}" for error in dns1123_subdomain(prefix)]
    if not name:
        return [*errors, "name part must be non-empty"]
    if len(name) > QUALIFIED_NAME_MAX:
        errors.append(f"name part must be no more than {QUALIFIED_NAME_MAX} characters")
    if re.fullmatch(_QUALIFIED_NAME, name) is None:
        errors.append(_MSG_QUALIFIED_NAME)
    return errors


def go_list(messages: list[str]) -> str:
    """A ``[]string`` as Go's ``fmt.Sprint`` prints it, as Knative's messages embed it."""
    return "[" + " ".join(messages) + "]"


def child_name(parent: str, suffix: str) -> str:
    """``kmeta.ChildName``: ``parent + suffix``, hashed down to 63 characters if longer.

    A Service named with the full 63 characters still gets Revisions: the parent is cut
    and the MD5 of the whole parent keeps the name unique.
    """
    head = LABEL_MAX - 32
    if len(parent) <= LABEL_MAX - len(suffix):
        return parent + suffix
    if head - len(suffix) <= 0:
        digest = hashlib.md5((parent + suffix).encode(), usedforsecurity=False).hexdigest()
        name = parent[:head] + digest
        name += suffix[: max(0, LABEL_MAX - len(name))]
    else:
        digest = hashlib.md5(parent.encode(), usedforsecurity=False).hexdigest()
        name = parent[: head - len(suffix)] + digest + suffix
    return name.rstrip("-.")
