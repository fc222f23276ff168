"""What the autoscaler needs from the rest of the data plane, as small protocols.

The runners implement :class:`Scaler` and :class:`ReadyPods`; the autoscaler imports
neither runners nor gateway. A revision is keyed by its
:class:`~unkai.platform.contracts.RevisionKey`.
"""

from __future__ import annotations

from typing import Protocol

from unkai.platform.contracts import RevisionKey


class Scaler(Protocol):
    """Makes a revision run ``desired`` instances (Knative patches the Deployment's
    replicas). Called only when the count changes, and once when the revision is
    registered, with its initial scale: a revision has no instances until then."""

    async def scale(self, key: RevisionKey, desired: int) -> None: ...


class ReadyPods(Protocol):
    """How many of a revision's instances pass their readiness probe now (0 for a
    revision the runners do not know)."""

    def ready(self, key: RevisionKey) -> int: ...
