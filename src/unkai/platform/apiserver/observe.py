"""Request metrics (Prometheus) and one structured log line per request.

Handlers name the Kubernetes verb and resource of a request in ``scope["state"]``
(``request.state.verb`` / ``.resource``); this middleware times the request and counts
it under those labels, so a watch and a list of the same path are told apart.
"""

from __future__ import annotations

import json
import logging
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("unkai.apiserver.requests")


class ApiMetrics:
    """The API server's metrics, in ``registry`` (the platform's) or one of their own.

    ``/metrics`` serves the whole registry, so parts that share it (gateway,
    autoscaler, runners) are exported on the same endpoint."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "unkai_apiserver_requests_total",
            "API requests by verb, resource and HTTP status code.",
            ["verb", "resource", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "unkai_apiserver_request_duration_seconds",
            "API request latency by verb and resource (watches: until the stream ends).",
            ["verb", "resource"],
            registry=self.registry,
        )
        self.watches = Gauge(
            "unkai_apiserver_watches",
            "Open watch streams by resource.",
            ["resource"],
            registry=self.registry,
        )


class Observe:
    """ASGI middleware recording :class:`ApiMetrics` and a JSON debug log line."""

    def __init__(self, app: ASGIApp, *, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        code = 500
        state = scope.setdefault("state", {})

        async def record_status(message: Message) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            elapsed = time.perf_counter() - started
            verb = state.get("verb", scope["method"].lower())
            resource = state.get("resource", "")
            self.metrics.requests.labels(verb, resource, str(code)).inc()
            self.metrics.latency.labels(verb, resource).observe(elapsed)
            if log.isEnabledFor(logging.DEBUG):
                log.debug(json.dumps({
                    "method": scope["method"], "path": scope["path"], "verb": verb,
                    "resource": resource, "code": code, "seconds": round(elapsed, 6),
                }))  # fmt: skip
