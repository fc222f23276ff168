"""A store watch seen through a resource's selectors: what ``?watch=1`` streams.

Selectors are matched against each event's object as it is after the change, so an
object that stops matching is simply no longer reported (Kubernetes would send a
synthetic DELETED; clients of ``unkai up`` relist on a gap anyway).
"""

from __future__ import annotations

from collections.abc import Callable

from unkai.platform.apiserver.types import Object
from unkai.platform.store import EventType, Watch


class ObjectWatch:
    """Async iterator of ``(type, object)``; close it (or use ``async with``) when done."""

    def __init__(self, watch: Watch, matches: Callable[[Object], bool]) -> None:
        self._watch = watch
        self._matches = matches

    @property
    def resource_version(self) -> str:
        """The revision delivered so far: where to resume after a disconnect."""
        return str(self._watch.revision)

    def __aiter__(self) -> ObjectWatch:
        return self

    async def __anext__(self) -> tuple[EventType, Object]:
        async for event in self._watch:
            if self._matches(event.object):
                return event.type, event.object
        raise StopAsyncIteration

    def close(self) -> None:
        self._watch.close()

    async def __aenter__(self) -> ObjectWatch:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
