"""The gateway: one HTTP port for every route, with the activator and the breaker inside.

Requests are routed by ``Host`` to a revision (weighted, one decision per request),
held while the revision has no ready instance, limited per instance by
``containerConcurrency``, and proxied over pooled keep-alive connections with
Knative's timeout semantics. It works at the protocol level (an asyncio ``Protocol``,
httptools, uvloop) because per-request work is paid for in microseconds; see
``docs/gateway.md``.

Modules, request path first: :mod:`.protocol` (client connections) → :mod:`.routing`
→ :mod:`.exchange` (one request/response) → :mod:`.activator` (hold or admit) →
:mod:`.breaker` (pick an instance) → :mod:`.upstream` (instance connections);
beside them :mod:`.headers`, :mod:`.timeouts`, :mod:`.websocket`, :mod:`.responses`,
:mod:`.metrics`, and :mod:`.server`, the public :class:`Gateway`.
"""

from unkai.platform.gateway.metrics import RequestMeter, RevisionStats
from unkai.platform.gateway.server import Gateway
from unkai.platform.gateway.settings import Endpoint, GatewayConfig, RevisionSettings

__all__ = [
    "Endpoint",
    "Gateway",
    "GatewayConfig",
    "RequestMeter",
    "RevisionSettings",
    "RevisionStats",
]
