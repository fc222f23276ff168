"""The ASGI application: routes, middleware and error rendering in one place.

The request path is ``Observe`` (metrics, log) → ``BearerAuth`` → routes. Routes are
discovery (``/version``, ``/api``, ``/apis``…), OpenAPI, ``/metrics``, health, and the
resource URLs below ``/api/v1`` and ``/apis/{group}/{version}``. Every error leaves as
a Kubernetes ``Status``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from unkai.platform.apiserver import discovery, errors, openapi
from unkai.platform.apiserver.auth import BearerAuth
from unkai.platform.apiserver.handlers import ResourceHandlers, respond
from unkai.platform.apiserver.observe import ApiMetrics, Observe
from unkai.platform.apiserver.requests import resolve
from unkai.platform.apiserver.service import ResourceService
from unkai.platform.apiserver.tokens import TokenBook
from unkai.platform.apiserver.types import Object

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
Endpoint = Callable[[Request], Awaitable[Response]]


def _document(build: Callable[[Request], Object | None]) -> Endpoint:
    """An endpoint serving a generated document as JSON, 404 where there is none.

    A client that accepts only another form (kubectl asks for ``/openapi/v2`` as
    protobuf) gets 406, as from Kubernetes for a form it does not serve, and falls back
    to what it can use; answering JSON instead made kubectl fail to parse it."""

    async def endpoint(request: Request) -> Response:
        request.state.verb = "get"
        if not _accepts_json(request.headers.get("accept", "")):
            raise errors.not_acceptable(request.headers["accept"])
        document = build(request)
        if document is None:
            raise errors.route_not_found()
        return respond(document)

    return endpoint


def _accepts_json(accept: str) -> bool:
    if not accept.strip():
        return True
    kinds = [part.split(";")[0].strip() for part in accept.split(",")]
    return any(kind in ("*/*", "application/*", "application/json") for kind in kinds)


def build_app(
    service: ResourceService,
    *,
    tokens: TokenBook,
    metrics: ApiMetrics | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The API server app for ``service``, admitting requests whose token ``tokens``
    knows, each to what its identity may use.

    ``extra_routes`` are the platform's extensions (bundle uploads), served behind the
    same check."""
    registry = service.registry
    metrics = metrics or ApiMetrics()
    handlers = ResourceHandlers(service, metrics=metrics)
    openapi_v2 = openapi.v2(registry)
    openapi_v3 = openapi.v3_index(registry)

    async def resources(request: Request) -> Response:
        parts = [p for p in request.path_params["path"].split("/") if p]
        core = request.url.path.startswith("/api/")
        group, version, rest = ("", parts[0], parts[1:]) if core else (parts[0], "", parts[1:])
        if not core and rest:
            version, rest = rest[0], rest[1:]
        if not version:
            if core or request.method != "GET":
                raise errors.route_not_found()
            return await _document(lambda r: discovery.api_group(registry, group))(request)
        if not rest:
            group_version = f"{group}/{version}" if group else version
            return await _document(lambda r: discovery.resource_list(registry, group_version))(
                request
            )
        target = resolve(registry, group, version, rest)
        if target is None:
            raise errors.route_not_found()
        return await handlers(request, target)

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.ApiError)
        return respond(exc.status, exc.code)

    async def storage_error(request: Request, exc: Exception) -> Response:
        error = errors.insufficient_storage(exc)
        if error is None:
            raise exc
        return respond(error.status, error.code)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            error = errors.method_not_allowed(request.method, request.url.path)
        elif exc.status_code == 404:
            error = errors.route_not_found()
        else:
            error = errors.ApiError(exc.status_code, "Unknown", str(exc.detail))
        return respond(error.status, error.code)

    routes = [
        *extra_routes,  # first: an extension may serve a subresource under /api (pod logs)
        Route("/healthz", healthz),
        Route("/readyz", healthz),
        Route("/livez", healthz),
        Route("/metrics", metrics_endpoint),
        Route("/version", _document(lambda r: discovery.version())),
        Route("/openapi/v2", _document(lambda r: openapi_v2)),
        Route("/openapi/v3", _document(lambda r: openapi_v3)),
        Route(
            "/openapi/v3/{path:path}",
            _document(lambda r: openapi.v3_group_version(registry, _group_version(r))),
        ),
        Route("/api", _document(lambda r: discovery.api_versions(r.url.netloc))),
        Route("/apis", _document(lambda r: discovery.api_groups(registry))),
        Route("/api/{path:path}", resources, methods=_METHODS),
        Route("/apis/{path:path}", resources, methods=_METHODS),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(Observe, metrics=metrics), Middleware(BearerAuth, tokens=tokens)],
        exception_handlers={
            errors.ApiError: api_error,
            HTTPException: http_error,
            sqlite3.Error: storage_error,
            OSError: storage_error,
        },
    )


def _group_version(request: Request) -> str:
    """``apis/serving.knative.dev/v1`` → ``serving.knative.dev/v1``; ``api/v1`` → ``v1``."""
    path: str = request.path_params["path"]
    return path.removeprefix("apis/").removeprefix("api/")
