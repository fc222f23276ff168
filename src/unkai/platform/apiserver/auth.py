"""Bearer-token authentication, the only kind ``unkai up`` offers, and authorisation.

Every request but the health probes and ``/version`` must carry
``Authorization: Bearer <token>``, WebSocket upgrades included. The scheme is
case-insensitive (RFC 7235, and Kubernetes reads it so: ``bearer`` works too); the admin
token is compared in constant time, tenant tokens by digest (:mod:`.tokens`). Then
:mod:`.access` decides whether the identity may touch the path. A refusal is the
``Status`` kubectl expects (401 unknown token, 403 not allowed).
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from unkai.api.knative import userinfo
from unkai.platform.apiserver.access import refusal
from unkai.platform.apiserver.errors import ApiError, unauthorized
from unkai.platform.apiserver.tokens import TokenBook

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/livez", "/version"})
"""What Kubernetes shows anonymous clients too (``system:public-info-viewer``)."""


class BearerAuth:
    """ASGI middleware admitting only requests whose token ``tokens`` knows, to paths
    its identity may use."""

    def __init__(self, app: ASGIApp, *, tokens: TokenBook) -> None:
        self.app = app
        self._tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        presented = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, credentials = presented.strip().partition(b" ")
        identity = self._tokens.identify(credentials) if scheme.lower() == b"bearer" else None
        if identity is None:
            await _refuse(scope, send, unauthorized())
            return
        query = scope.get("query_string", b"").decode("latin-1")
        why = refusal(identity, scope.get("method", "GET"), scope["path"], query)
        if why is not None:
            await _refuse(scope, send, ApiError(403, "Forbidden", why))
            return
        scope["unkai.identity"] = identity
        user = userinfo.REQUEST_USER.set(identity.user)  # Knative's creator annotation
        try:
            await self.app(scope, receive, send)
        finally:
            userinfo.REQUEST_USER.reset(user)


async def _refuse(scope: Scope, send: Send, error: ApiError) -> None:
    """Answer ``error`` as a ``Status``, a WebSocket upgrade too (401 or 403 before the
    handshake, as the Kubernetes API server does), through the ASGI denial response when
    the server offers it; without it a server can only close, which it answers 403."""
    prefix = ""
    if scope["type"] == "websocket":
        if "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": 1008})
            return
        prefix = "websocket."
    body = json.dumps(error.status).encode()
    await send({
        "type": prefix + "http.response.start",
        "status": error.code,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
    })  # fmt: skip
    await send({"type": prefix + "http.response.body", "body": body})
