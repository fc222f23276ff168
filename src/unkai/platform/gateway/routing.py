"""Host routing: from a request's ``Host`` (and optional tag header) to one revision.

A Route's :class:`~unkai.platform.contracts.RoutingTable` is compiled once,
when routes change, into :class:`CompiledRoute`: a cumulative weight list for the
main host and one 100% entry per tag host. The request path then costs one dict
lookup on the normalised host and, for a split, one ``random()`` and one bisect:
every request is its own routing decision (Knative: "each HTTP/1.1 request is one
routing decision"), so keep-alive connections never stick to a revision.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from unkai.platform.contracts import RevisionKey, RoutingTable

T = TypeVar("T")

TAG_HEADER = b"knative-serving-tag"


def normalise_host(host: bytes) -> bytes:
    """The routing key of a ``Host`` value: lower case, no port, no trailing dot."""
    bracket = host.find(b"]")  # an IPv6 literal keeps its colons: [::1]:8080
    name = host[: bracket + 1] if host.startswith(b"[") else host.partition(b":")[0]
    return name.rstrip(b".").lower()


class CompiledRoute(Generic[T]):
    """One host's weighted choice between targets (revision states, for the gateway).

    ``draw`` gives a number in [0, 1) per choice: ``random.random``, or a fixed
    sequence in tests.
    """

    __slots__ = ("_bounds", "_draw", "_only", "_targets", "tags")

    def __init__(
        self,
        split: list[tuple[T, int]],
        tags: Mapping[bytes, T],
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.tags = tags
        self._draw = draw
        total = sum(percent for _, percent in split)
        self._targets = [target for target, _ in split]
        self._only = self._targets[0] if len(split) == 1 else None
        bounds, running = [], 0
        for _, percent in split:
            running += percent
            bounds.append(running / total)
        self._bounds = bounds

    def choose(self) -> T | None:
        """A target drawn by weight; ``None`` when the route has no traffic at all."""
        if self._only is not None:
            return self._only
        if not self._targets:
            return None
        index = bisect_right(self._bounds, self._draw())
        return self._targets[min(index, len(self._targets) - 1)]


class Router(Generic[T]):
    """Host → compiled route, replaced as a whole on every change (readers never lock).

    ``resolve`` turns a revision key into the target the routes hold (the gateway's
    per-revision state), once per change rather than per request; ``draw`` is what
    splits draw from (:class:`CompiledRoute`).

    ``hosts`` is what callers outside the platform reach: public routes' hosts and
    tags. :attr:`internal` is the same router as callers inside see it (the gateway's
    internal listener): every host of ``hosts``, each route's cluster-local names
    (``aliases``), and the cluster-local routes. It is kept up to date by this one.
    """

    def __init__(
        self,
        resolve: Callable[[RevisionKey], T],
        draw: Callable[[], float] = random.random,
        *,
        inside: bool = False,
    ) -> None:
        self._resolve = resolve
        self._draw = draw
        self._tables: dict[str, tuple[str, RoutingTable]] = {}
        self.hosts: dict[bytes, CompiledRoute[T]] = {}
        self._internal = None if inside else Router(resolve, draw, inside=True)

    @property
    def internal(self) -> Router[T]:
        """The routes as the internal listener serves them (itself, for that view)."""
        return self if self._internal is None else self._internal

    def add(self, namespace: str, table: RoutingTable) -> None:
        """Serve ``table`` (replacing the previous table of its host)."""
        self._tables = {**self._tables, table.host: (namespace, table)}
        self._compile()

    def replace(self, tables: list[tuple[str, RoutingTable]]) -> None:
        """Serve exactly these tables."""
        self._tables = {table.host: (namespace, table) for namespace, table in tables}
        self._compile()

    def remove(self, host: str) -> None:
        """Stop serving the route whose main host is ``host`` (and its tag hosts)."""
        self._tables = {key: value for key, value in self._tables.items() if key != host}
        self._compile()

    def programmed(self, host: str) -> RoutingTable | None:
        """The table served for a route's main host, for the Route's ``IngressReady``."""
        entry = self._tables.get(host)
        return entry[1] if entry else None

    def revisions(self) -> set[RevisionKey]:
        """Every revision some route sends traffic to, by split or by tag."""
        keys: set[RevisionKey] = set()
        for namespace, table in self._tables.values():
            keys |= table.revisions(namespace)
        return keys

    def _compile(self) -> None:
        hosts: dict[bytes, CompiledRoute[T]] = {}
        inside: dict[bytes, CompiledRoute[T]] = {}
        for namespace, table in self._tables.values():
            split = [
                (self._resolve(RevisionKey(namespace, name)), percent)
                for name, percent in table.split
                if percent > 0
            ]
            tags = {
                _tag_of(tag_host, table.host): self._resolve(RevisionKey(namespace, name))
                for tag_host, name in table.tags.items()
            }
            served = {table.host.lower().encode(): CompiledRoute(split, tags, self._draw)}
            served.update(self._tag_routes(namespace, table.tags))
            if table.public:
                hosts.update(served)
            inside.update(served)
            main = served[table.host.lower().encode()]
            inside.update({alias.lower().encode(): main for alias in table.aliases})
            inside.update(self._tag_routes(namespace, table.tag_aliases))
        self.hosts = hosts
        if self._internal is not None:
            self._internal.hosts = inside

    def _tag_routes(self, namespace: str, tags: Mapping[str, str]) -> dict[bytes, CompiledRoute[T]]:
        """Each tag's host (or cluster-local name) served 100% by its revision."""
        return {
            host.lower().encode(): CompiledRoute(
                [(self._resolve(RevisionKey(namespace, name)), 100)], {}
            )
            for host, name in tags.items()
        }


def _tag_of(tag_host: str, host: str) -> bytes:
    """``staging`` from ``staging-hello.default.localhost`` and ``hello.default.localhost``."""
    suffix = "-" + host
    name = tag_host[: -len(suffix)] if tag_host.endswith(suffix) else tag_host.partition(".")[0]
    return name.lower().encode()
