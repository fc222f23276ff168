"""A Knative ``Destination`` written as one word, the way ``kn`` takes ``--sink``.

``https://…`` or ``http://…`` is a ``uri``; ``NAME`` or ``ksvc:NAME`` is a Knative
Service; ``broker:NAME`` is a Broker. Used by the CLI's ``--sink`` flags and by
``func.yaml``'s ``sink``, so both read the same word the same way.
"""

from __future__ import annotations

import re
from typing import Any

from unkai.api import kinds

NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
KINDS = {"ksvc": kinds.SERVICE, "broker": kinds.BROKER}
FORMS = "NAME, ksvc:NAME, broker:NAME or an http(s) URL"


def parse(text: str) -> dict[str, Any]:
    """The Destination ``text`` names; ``ValueError`` saying what is allowed."""
    if text.startswith(("http://", "https://")):
        return {"uri": text}
    prefix, colon, name = text.partition(":")
    if not colon:
        prefix, name = "ksvc", text
    kind = KINDS.get(prefix)
    if kind is None:
        raise ValueError(f"{text!r}: name a sink as {FORMS}")
    if not NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid name (lower-case letters, digits, '-')")
    return {"ref": {"apiVersion": kind.api_version,
                    "kind": kind.kind, "name": name}}  # fmt: skip
