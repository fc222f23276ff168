"""Bearer-token authentication, the only kind ``unkai up`` offers.

Every request but the health probes and ``/version`` must carry
``Authorization: Bearer <token>``. The scheme is case-insensitive (RFC 7235, and
Kubernetes reads it so: ``bearer`` works too); the token is compared in constant time.
A refusal is the ``Status`` kubectl expects (401).
"""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Receive, Scope, Send

from unkai.platform.apiserver.errors import unauthorized

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/livez", "/version"})
"""What Kubernetes shows anonymous clients too (``system:public-info-viewer``)."""


class BearerAuth:
    """ASGI middleware admitting only requests that present ``token``."""

    def __init__(self, app: ASGIApp, *, token: str) -> None:
        if not token:
            raise ValueError("an empty token would admit anyone")
        self.app = app
        self._expected = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        presented = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, credentials = presented.strip().partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(credentials, self._expected):
            await self.app(scope, receive, send)
            return
        body = json.dumps(unauthorized().status).encode()
        await send({
            "type": "http.response.start",
            "status": 401,
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())],
        })  # fmt: skip
        await send({"type": "http.response.body", "body": body})
