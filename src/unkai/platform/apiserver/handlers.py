"""HTTP handlers for resource URLs: one method per verb, all thin over the service.

Each handler names its Kubernetes verb and resource in ``request.state`` for metrics,
calls :class:`~unkai.platform.apiserver.service.ResourceService`, and renders JSON, or
a ``Table`` when kubectl asks for one. Watches stream newline-delimited JSON events.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from unkai.platform.apiserver import errors, options, tables
from unkai.platform.apiserver.observe import ApiMetrics
from unkai.platform.apiserver.requests import (
    Target,
    content_type,
    field_manager,
    read_body,
)
from unkai.platform.apiserver.service import ResourceService
from unkai.platform.apiserver.types import Object


def respond(body: Object, status: int = 200) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status, media_type="application/json")


def respond_list(listed: Object) -> Response:
    """A list, encoded one item at a time, to bytes. One ``json.dumps`` call holds the
    GIL for its whole length (about 240 ms for 18 MB of ConfigMaps), and encoding the
    text to bytes at once another 24 ms: the gateway's thread would wait as long.
    Between items the interpreter can hand the GIL over."""
    separators = (",", ":")
    head = json.dumps({key: value for key, value in listed.items() if key != "items"},
                      separators=separators)  # fmt: skip
    items = b",".join(json.dumps(item, separators=separators).encode() for item in listed["items"])
    opening = head[:-1] + "," if len(head) > 2 else "{"
    body = b"".join((opening.encode(), b'"items":[', items, b"]}"))
    return Response(body, media_type="application/json")


class ResourceHandlers:
    """Serves collection, object and status URLs of every registered kind."""

    def __init__(self, service: ResourceService, *, metrics: ApiMetrics) -> None:
        self.service = service
        self.metrics = metrics

    async def __call__(self, request: Request, target: Target) -> Response:
        method = request.method
        request.state.resource = target.rt.group_resource
        if target.rt.read_only and method != "GET":
            raise errors.method_not_allowed(method, target.rt.group_resource)
        if target.name is None:
            if method == "GET":
                watching = options.boolean(request.query_params, "watch")
                return await (self.watch if watching else self.list)(request, target)
            if method == "POST" and (target.namespace or not target.rt.namespaced):
                return await self.create(request, target)
            if method == "DELETE" and (target.namespace or not target.rt.namespaced):
                return await self.delete_collection(request, target)
        else:
            handler = {
                "GET": self.get, "PUT": self.update, "PATCH": self.patch, "DELETE": self.delete,
            }.get(method)  # fmt: skip
            if handler is not None and not (target.subresource and method == "DELETE"):
                return await handler(request, target)
        raise errors.method_not_allowed(method, target.rt.group_resource)

    def _render(self, request: Request, target: Target, objects: list[Object], rv: str) -> Object:
        return tables.table(
            target.rt,
            objects,
            resource_version=rv,
            now=self.service.clock(),
            include=request.query_params.get("includeObject", "Metadata"),
        )

    def _wants_table(self, request: Request) -> bool:
        return tables.wants_table(request.headers.get("accept", ""))

    async def get(self, request: Request, target: Target) -> Response:
        request.state.verb = "get"
        obj = await self.service.get(target.rt, name=str(target.name), namespace=target.namespace)
        if self._wants_table(request) and not target.subresource:
            rv = obj["metadata"]["resourceVersion"]
            return respond(self._render(request, target, [obj], rv))
        return respond(obj)

    async def list(self, request: Request, target: Target) -> Response:
        request.state.verb = "list"
        result = await self._selected(request, target)
        if self._wants_table(request):
            rv = result["metadata"]["resourceVersion"]
            return respond(self._render(request, target, result["items"], rv))
        return respond_list(result)

    async def create(self, request: Request, target: Target) -> Response:
        request.state.verb = "create"
        created = await self.service.create(
            target.rt,
            await read_body(request, rt=target.rt),
            namespace=target.namespace,
            field_manager=field_manager(request) or "unknown",
            dry_run=options.dry_run(request.query_params, "CreateOptions"),
        )
        return respond(created, 201)

    async def update(self, request: Request, target: Target) -> Response:
        request.state.verb = "update"
        # A protobuf body carries the main resource: status is not decoded from it.
        kind = None if target.subresource else target.rt
        updated = await self.service.update(
            target.rt,
            await read_body(request, rt=kind),
            name=str(target.name),
            namespace=target.namespace,
            subresource=target.subresource,
            field_manager=field_manager(request) or "unknown",
            dry_run=options.dry_run(request.query_params, "UpdateOptions"),
        )
        return respond(updated)

    async def patch(self, request: Request, target: Target) -> Response:
        request.state.verb = "patch"
        patched = await self.service.patch(
            target.rt,
            await read_body(request),
            patch_type=content_type(request),
            name=str(target.name),
            namespace=target.namespace,
            subresource=target.subresource,
            field_manager=field_manager(request),
            force=options.boolean(request.query_params, "force"),
            dry_run=options.dry_run(request.query_params, "PatchOptions"),
        )
        return respond(patched)

    async def delete(self, request: Request, target: Target) -> Response:
        request.state.verb = "delete"
        asked = await self._delete_options(request)
        deleted = await self.service.delete(
            target.rt,
            name=str(target.name),
            namespace=target.namespace,
            preconditions=asked.preconditions,
            dry_run=asked.dry_run,
            propagation=asked.propagation,
        )
        return respond(deleted)

    async def _delete_options(self, request: Request) -> options.DeleteOptions:
        body = await read_body(request, optional=True)
        return options.delete_options(request.query_params, body)

    async def _selected(self, request: Request, target: Target) -> Object:
        """The list the request's label and field selectors ask for (the other list
        options are checked, then ignored: one page of the latest state is served)."""
        options.integer(request.query_params, "limit")
        options.resource_version(request.query_params)
        return await self.service.list(
            target.rt,
            namespace=target.namespace,
            label_selector=request.query_params.get("labelSelector"),
            field_selector=request.query_params.get("fieldSelector"),
        )

    async def delete_collection(self, request: Request, target: Target) -> Response:
        request.state.verb = "deletecollection"
        asked = await self._delete_options(request)
        result = await self._selected(request, target)
        deleted = []
        for item in result["items"]:
            metadata = item["metadata"]
            try:
                deleted.append(await self.service.delete(
                    target.rt, name=metadata["name"], namespace=metadata.get("namespace"),
                    dry_run=asked.dry_run, propagation=asked.propagation,
                ))  # fmt: skip
            except errors.ApiError as error:
                if error.code != 404:
                    raise
        return respond({**result, "items": deleted})

    async def watch(self, request: Request, target: Target) -> Response:
        request.state.verb = "watch"
        params = request.query_params
        timeout = options.seconds(params, "timeoutSeconds")
        options.integer(params, "limit")
        try:
            watch = await self.service.watch(
                target.rt,
                namespace=target.namespace,
                resource_version=params.get("resourceVersion"),
                label_selector=params.get("labelSelector"),
                field_selector=params.get("fieldSelector"),
            )
        except errors.ApiError as error:
            if error.code != 410:
                raise
            line = json.dumps({"type": "ERROR", "object": error.status}) + "\n"
            return StreamingResponse(iter([line]), media_type="application/json")
        as_table = self._wants_table(request)
        deadline = None if timeout is None else time.monotonic() + timeout
        gauge = self.metrics.watches.labels(target.rt.group_resource)

        async def lines() -> AsyncIterator[str]:
            gauge.inc()
            try:
                async with watch:
                    while deadline is None or time.monotonic() < deadline:
                        remaining = None if deadline is None else deadline - time.monotonic()
                        try:
                            kind, obj = await asyncio.wait_for(anext(watch), remaining)
                        except (StopAsyncIteration, TimeoutError):
                            return
                        shown: Any = obj
                        if as_table:
                            rv = obj["metadata"]["resourceVersion"]
                            shown = self._render(request, target, [obj], rv)
                        yield (
                            json.dumps({"type": kind, "object": shown}, separators=(",", ":"))
                            + "\n"
                        )
            finally:
                gauge.dec()

        return StreamingResponse(lines(), media_type="application/json")
