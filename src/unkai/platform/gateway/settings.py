"""What the data plane tells the gateway: endpoints and per-revision limits.

These are plain values, compared by value: a setter called twice with equal settings
changes nothing. Defaults are Knative's (``config-defaults``, ``config-network``).
"""

from __future__ import annotations

from dataclasses import dataclass

from unkai.platform.gateway.limits import MAX_CONNECTIONS


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One ready instance of a revision, serving HTTP/1.1 on ``host:port`` (loopback),
    or on the Unix socket at ``path`` when it has one: the gateway then connects there,
    because a Unix socket costs about a third less system time per request than
    loopback TCP (docs/benchmarks.md) and only the platform's user can reach it."""

    host: str
    port: int
    path: str | None = None

    def __str__(self) -> str:
        return f"unix:{self.path}" if self.path else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class RevisionSettings:
    """A Revision's concurrency limit and timeouts, in seconds (Knative field names).

    ``container_concurrency`` 0 means no limit. ``response_start_timeout`` ``None``
    means "the same as ``timeout``"; ``idle_timeout`` 0 means none. ``h2c``: the
    instances speak HTTP/2 cleartext (the container port is named ``h2c``), so only
    HTTP/2 is relayed to them (``h2c.py``).
    """

    container_concurrency: int = 0
    timeout: float = 300.0
    response_start_timeout: float | None = None
    idle_timeout: float = 0.0
    h2c: bool = False

    @property
    def first_byte_limit(self) -> float:
        """How long a request may wait, from arrival, for the first byte of its response.

        Knative arms all three timers at arrival and, before anything was written, each
        of them ends the request with a 504 (an idle timer measures from "never
        written"); so the earliest one is the limit.
        """
        limit = self.timeout
        if self.response_start_timeout is not None:
            limit = min(limit, self.response_start_timeout)
        if self.idle_timeout > 0:
            limit = min(limit, self.idle_timeout)
        return limit

    @property
    def queue_depth(self) -> int:
        """Requests the breaker queues per ready instance (Knative: 10 × CC)."""
        return 10 * self.container_concurrency


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Gateway-wide settings.

    ``domain``: the route domain, for the example in a 404 when no route exists yet.
    ``max_held``: requests held per revision while it has no ready instance (the
    activator's breaker queue depth). ``tag_header_routing``: honour
    ``Knative-Serving-Tag`` (Knative's ``tag-header-based-routing``, off by default).
    ``keep_alive_timeout``: idle client connections are closed after it.
    ``upstream_idle_timeout``: pooled instance connections older than this are not
    reused; it stays under uvicorn's 5 s keep-alive so the instance never closes a
    connection the gateway is about to write to.

    Against hostile clients (issue 13): ``max_connections`` open client connections
    at most (the oldest idle one is closed to make room for a new one; the platform
    lowers it to what its file limit affords, see :func:`.limits.connection_cap`);
    ``header_timeout``: a request head must be complete this many seconds after it
    started (after the accept, for a connection's first), as Go's ``ReadHeaderTimeout``
    in front of Knative's proxies; ``max_unfinished_head_bytes``: memory all
    unfinished heads may hold together, beyond which the connection that grows one
    gets 503 and is closed.
    """

    domain: str = "localhost"
    max_held: int = 10_000
    tag_header_routing: bool = False
    keep_alive_timeout: float = 60.0
    upstream_idle_timeout: float = 3.0
    max_idle_per_instance: int = 64
    connect_timeout: float = 2.0
    max_connections: int = MAX_CONNECTIONS
    header_timeout: float = 10.0
    max_unfinished_head_bytes: int = 32 << 20
