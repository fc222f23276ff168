"""A store watch seen through a resource's selectors: what ``?watch=1`` streams.

Selectors are matched against each event's object as it is after the change. As in
Kubernetes' watch cache, a watcher sees an object come and go with its selector: an
object that starts matching arrives as ADDED, and one that stops matching leaves as
DELETED (its last matching state, at the event's resourceVersion), so a client keeping
a selected set (``kubectl get -l app=x -w``, an informer) never keeps a stale member.
Which objects matched before the watch began is read from the store when it starts (or
taken from the initial ADDED events of a watch without a resourceVersion).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from unkai.platform.apiserver.types import Object
from unkai.platform.store import EventType, Key, Watch


class ObjectWatch:
    """Async iterator of ``(type, object)``; close it (or use ``async with``) when done.

    ``selected``: the objects that match the selectors when the watch starts, by key;
    ``None`` for a watch without selectors (nothing to track)."""

    def __init__(
        self,
        watch: Watch,
        matches: Callable[[Object], bool],
        selected: dict[Key, Object] | None = None,
    ) -> None:
        self._watch = watch
        self._matches = matches
        self._selected = selected

    @property
    def resource_version(self) -> str:
        """The revision delivered so far: where to resume after a disconnect."""
        return str(self._watch.revision)

    def __aiter__(self) -> ObjectWatch:
        return self

    async def __anext__(self) -> tuple[EventType, Object]:
        async for event in self._watch:
            if self._selected is None:
                if self._matches(event.object):
                    return event.type, event.object
                continue
            was = self._selected.pop(event.key, None)
            if event.type != "DELETED" and self._matches(event.object):
                self._selected[event.key] = event.object
                return ("ADDED" if was is None else event.type), event.object
            if was is not None:  # it stopped matching, or went away
                if event.type == "DELETED":
                    return "DELETED", event.object
                return "DELETED", _at_version(was, event.object)
        raise StopAsyncIteration

    def close(self) -> None:
        self._watch.close()

    async def __aenter__(self) -> ObjectWatch:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()


def _at_version(last: Object, now: Object) -> Object:
    """``last`` (the object as it last matched) with ``now``'s resourceVersion."""
    gone = copy.deepcopy(last)
    gone["metadata"]["resourceVersion"] = now["metadata"]["resourceVersion"]
    return gone
