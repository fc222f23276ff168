"""Change events and their fan-out to watchers.

Every write produces exactly one :class:`Event` at its new revision. The store's writer
thread hands each event to :meth:`Hub.publish` on the event loop in commit order, so
every subscriber sees events in revision order. A subscriber that falls too far behind
is dropped (its stream ends) rather than letting memory grow without bound; like a
Kubernetes client, it re-watches from the last revision it saw.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

EventType = Literal["ADDED", "MODIFIED", "DELETED"]


class Key(NamedTuple):
    """Where an object lives: group-resource (``services.serving.knative.dev``),
    namespace (``""`` for cluster-scoped kinds) and name."""

    resource: str
    namespace: str
    name: str


@dataclass(frozen=True)
class Event:
    """One change: the object as it is after the change (before it, for DELETED),
    with ``metadata.resourceVersion`` equal to ``revision``. Shared between
    subscribers: treat ``object`` as read-only."""

    type: EventType
    key: Key
    object: dict[str, Any]
    revision: int


class Subscription:
    """One watcher's queue of events for a resource (and optionally a namespace)."""

    def __init__(self, resource: str | None, namespace: str | None, limit: int) -> None:
        self.resource = resource
        self.namespace = namespace
        self.limit = limit
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()

    def wants(self, event: Event) -> bool:
        return (self.resource is None or event.key.resource == self.resource) and (
            self.namespace is None or event.key.namespace == self.namespace
        )

    def end(self) -> None:
        """Make the consumer stop after what is already queued."""
        self.queue.put_nowait(None)


class Hub:
    """Fans events out to every live subscription (event-loop thread only)."""

    def __init__(self, *, backlog_limit: int = 10_000) -> None:
        self._subscriptions: set[Subscription] = set()
        self._backlog_limit = backlog_limit
        self.closed = False

    def subscribe(self, resource: str | None, namespace: str | None) -> Subscription:
        """A new subscription (already ended when the hub is closed)."""
        subscription = Subscription(resource, namespace, self._backlog_limit)
        if self.closed:
            subscription.end()
        else:
            self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    def publish(self, event: Event) -> None:
        for subscription in list(self._subscriptions):
            if not subscription.wants(event):
                continue
            subscription.queue.put_nowait(event)
            if subscription.queue.qsize() > subscription.limit:
                self.unsubscribe(subscription)
                subscription.end()

    def close(self) -> None:
        """End every stream, now and later: used when the store shuts down."""
        self.closed = True
        for subscription in self._subscriptions:
            subscription.end()
        self._subscriptions.clear()

    def __len__(self) -> int:
        return len(self._subscriptions)


class Watch:
    """An open watch: first a backlog (the initial list or the logged history), then
    live events from the hub, skipping any live event already in the backlog.

    Use as an async iterator; :meth:`close` (or ``async with``) unsubscribes.
    """

    def __init__(
        self, hub: Hub, subscription: Subscription, backlog: list[Event], revision: int
    ) -> None:
        self._hub = hub
        self._subscription = subscription
        self._backlog = backlog
        self.revision = revision
        """The revision this watch has delivered up to (its resume point)."""

    def __aiter__(self) -> Watch:
        return self

    async def __anext__(self) -> Event:
        if self._backlog:
            event = self._backlog.pop(0)
            self.revision = max(self.revision, event.revision)
            return event
        while True:
            live = await self._subscription.queue.get()
            if live is None:
                self.close()
                raise StopAsyncIteration
            if live.revision > self.revision:
                self.revision = live.revision
                return live

    def close(self) -> None:
        self._hub.unsubscribe(self._subscription)

    async def __aenter__(self) -> Watch:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
