"""The gateway: one HTTP port for every route, with the activator and the breaker inside.

Requests are routed by ``Host`` to a revision (weighted, one decision per request),
held while the revision has no ready instance, limited per instance by
``containerConcurrency``, and proxied over pooled keep-alive connections with
Knative's timeout semantics. It works at the protocol level (an asyncio ``Protocol``,
httptools, uvloop) because per-request work is paid for in microseconds; see
``docs/gateway.md``.

Modules, in import order (each imports only those after it): :mod:`.thread`
(:class:`ThreadedGateway`, the gateway on a thread and loop of its own, as ``unkai up``
runs it) → :mod:`.server` (the public :class:`Gateway`) → :mod:`.protocol` (client
connections) → :mod:`.exchange` (one request/response) → :mod:`.state` (what they share)
→ :mod:`.connections` (the open client connections, for the limits against hostile
clients) → :mod:`.activator` (a revision's throttle: hold or admit) → :mod:`.breaker`
(pick an instance) → :mod:`.upstream` (instance connections) and :mod:`.timeouts`
(first-byte deadlines); below them :mod:`.ports` (what each part needs of another, as
Protocols), :mod:`.routing`, :mod:`.headers`, :mod:`.websocket`, :mod:`.responses`,
:mod:`.metrics`, :mod:`.settings` and :mod:`.limits` (what hostile clients are refused,
and the connection cap the file limit affords).
"""

from unkai.platform.gateway.metrics import RequestMeter, RevisionStats
from unkai.platform.gateway.server import Gateway
from unkai.platform.gateway.settings import Endpoint, GatewayConfig, RevisionSettings
from unkai.platform.gateway.thread import ThreadedGateway

__all__ = [
    "Endpoint",
    "Gateway",
    "GatewayConfig",
    "RequestMeter",
    "RevisionSettings",
    "RevisionStats",
    "ThreadedGateway",
]
