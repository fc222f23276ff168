"""The concurrency breaker: which ready instance takes a request, if any may.

``containerConcurrency`` (CC) is a hard limit per instance, as queue-proxy enforces it:
an instance never has more than CC requests in flight. Among the instances with room
the least loaded wins (ties: the first, which keeps the fewest connections warm).
CC 0 means no limit, still least loaded. What cannot be placed waits in the
revision's queue (:mod:`.activator`), whose depth is 10 × CC per ready instance:
Knative gives every pod its own queue-proxy queue of 10 × CC, so the total a revision
buffers grows with its pods in the same way.
"""

from __future__ import annotations

from unkai.platform.gateway.upstream import Backend


class Breaker:
    """Ready instances of one revision and its CC; the request path calls :meth:`pick`."""

    __slots__ = ("container_concurrency", "queue_per_instance", "ready")

    def __init__(self) -> None:
        self.ready: list[Backend] = []
        self.container_concurrency = 0
        self.queue_per_instance = 0

    def configure(self, container_concurrency: int, queue_depth: int) -> None:
        self.container_concurrency = container_concurrency
        self.queue_per_instance = queue_depth

    def pick(self) -> Backend | None:
        """The least-loaded ready instance under the limit, counted in; else ``None``."""
        limit = self.container_concurrency
        best = None
        least = limit if limit else 1 << 62
        for backend in self.ready:
            if backend.in_flight < least:
                best, least = backend, backend.in_flight
        if best is not None:
            best.in_flight += 1
        return best

    def queue_depth(self, max_held: int) -> int:
        """How many requests may wait: ``max_held`` while cold, 10 × CC per instance
        when instances are ready (CC 0 never waits then)."""
        if not self.ready:
            return max_held
        return self.queue_per_instance * len(self.ready)
