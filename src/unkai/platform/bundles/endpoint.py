"""The bundle upload endpoint, next to the Kubernetes-style API (same port, same token).

``unkai deploy`` asks ``HEAD /unkai/v1/bundles/sha256:{hex}`` first and uploads with
``PUT`` only when the platform does not have the bundle yet, so re-deploying an
unchanged function sends nothing. The body is read up to the store's size limit and
no further (413 beyond); the digest in the URL must match the body (400 otherwise);
an unsafe archive is refused with the store's reason (422).
"""

from __future__ import annotations

import asyncio
import hashlib
import re

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from unkai.platform.bundles.archive import BundleError
from unkai.platform.bundles.store import BundleStore

PREFIX = "/unkai/v1/bundles"
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def routes(store: BundleStore) -> list[Route]:
    """Routes serving ``store``; mount them into the API server's app."""

    async def bundle(request: Request) -> Response:
        digest = request.path_params["digest"]
        if not DIGEST.match(digest):
            return PlainTextResponse(f"{digest!r} is not a sha256:<64 hex> digest", 400)
        if request.method == "HEAD":
            return Response(status_code=200 if store.has(digest) else 404)
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > store.max_size:
                return PlainTextResponse(
                    f"bundle larger than the limit of {store.max_size} bytes", status_code=413
                )
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if actual != digest:
            return PlainTextResponse(f"the body's digest is {actual}, not {digest}", 400)
        try:
            stored = await asyncio.to_thread(store.put, bytes(data))
        except BundleError as error:
            return PlainTextResponse(str(error), status_code=422)
        return JSONResponse({"digest": stored}, status_code=201)

    return [Route(PREFIX + "/{digest}", bundle, methods=["HEAD", "PUT"])]
