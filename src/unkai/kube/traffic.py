"""Traffic targets from the ``unkai traffic`` flags (a pure builder).

``--split hello-00001=90 --split @latest=10 --tag hello-00001=stable`` becomes the
``spec.traffic`` list Knative expects: ``@latest`` follows the latest ready revision
(``latestRevision: true``), every other name pins a revision, and a tag on a revision
without a split gets a 0% target so it is reachable at its tag URL only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from unkai.errors import UserError

LATEST = "@latest"


class TrafficError(UserError, ValueError):
    """The flags do not describe a valid split; the message says which flag."""


def parse_pairs(values: Sequence[str], *, flag: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        key, equals, item = value.partition("=")
        if not equals or not key or not item:
            raise TrafficError(f"{flag} {value!r}: expected REVISION=VALUE")
        pairs.append((key, item))
    return pairs


def targets(splits: Sequence[str], tags: Sequence[str]) -> list[dict[str, Any]]:
    """The ``spec.traffic`` list for ``--split`` and ``--tag`` values."""
    percents: dict[str, int] = {}
    for revision, amount in parse_pairs(splits, flag="--split"):
        if revision in percents:
            raise TrafficError(f"--split {revision}: given twice")
        if not amount.isdigit() or int(amount) > 100:
            raise TrafficError(f"--split {revision}={amount}: percent must be 0..100")
        percents[revision] = int(amount)
    tagged: dict[str, list[str]] = {}
    for revision, label in parse_pairs(tags, flag="--tag"):
        tagged.setdefault(revision, []).append(label)
        percents.setdefault(revision, 0)
    total = sum(percents.values())
    if total != 100:
        raise TrafficError(f"the splits sum to {total}, want 100")
    result = []
    for revision, percent in percents.items():
        names: list[str | None] = [*tagged.get(revision, [])] or [None]
        for index, tag in enumerate(names):
            entry: dict[str, Any] = {"percent": percent if index == 0 else 0}
            if revision == LATEST:
                entry["latestRevision"] = True
            else:
                entry["revisionName"] = revision
                entry["latestRevision"] = False
            if tag is not None:
                entry["tag"] = tag
            result.append(entry)
    return result
