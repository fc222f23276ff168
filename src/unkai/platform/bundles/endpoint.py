"""The bundle upload endpoint, next to the Kubernetes-style API (same port, same token).

``unkai deploy`` asks ``HEAD /unkai/v1/namespaces/{ns}/bundles/sha256:{hex}`` first and
uploads with ``PUT`` only when the namespace does not have the bundle yet, so
re-deploying an unchanged function sends nothing. The path names the namespace as a
Kubernetes resource path does, so the API's access check lets a tenant token reach its
own namespace's bundles only (:mod:`unkai.platform.apiserver.access`), and each
namespace's bundles are its own (:mod:`.namespaces`). The body is read up to the
store's size limit and no further (413 beyond); the digest in the URL must match the
body (400 otherwise); an unsafe archive is refused with the store's reason (422).
"""

from __future__ import annotations

import asyncio
import hashlib
import re

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from unkai.platform.bundles.archive import BundleError
from unkai.platform.bundles.namespaces import NamespacedBundles

PREFIX = "/unkai/v1/namespaces"
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def path(namespace: str, digest: str) -> str:
    """Where the bundle ``digest`` of ``namespace`` is asked for and uploaded."""
    return f"{PREFIX}/{namespace}/bundles/{digest}"


def routes(stores: NamespacedBundles) -> list[Route]:
    """Routes serving ``stores``; mount them into the API server's app."""

    async def bundle(request: Request) -> Response:
        digest = request.path_params["digest"]
        if not DIGEST.match(digest):
            return PlainTextResponse(f"{digest!r} is not a sha256:<64 hex> digest", 400)
        try:
            store = stores.of(request.path_params["namespace"])
        except BundleError as error:
            return PlainTextResponse(str(error), 400)
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

    return [Route(PREFIX + "/{namespace}/bundles/{digest}", bundle, methods=["HEAD", "PUT"])]
