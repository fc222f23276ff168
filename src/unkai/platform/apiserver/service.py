"""The API's verbs as an async Python API: what HTTP handlers and controllers call.

:class:`ResourceService` implements Kubernetes semantics over the store: metadata
(uid, generation, timestamps, generateName), optimistic concurrency, the status
subresource, patches and server-side apply, finalizers and deletion. Every refusal is an
:class:`~unkai.platform.apiserver.errors.ApiError` carrying the ``Status`` to send.
Objects are plain dicts in their JSON shape; methods take keyword arguments::

    rt = service.registry.get("services.serving.knative.dev")
    ksvc = await service.get(rt, namespace="default", name="hello")
    async with await service.watch(rt, namespace="default") as events:
        async for kind, obj in events: ...
"""

from __future__ import annotations

import copy
import functools
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from unkai.api.yamlsource import Problem
from unkai.platform import store as db
from unkai.platform.apiserver import admission, cascade, errors, managed, options, patching
from unkai.platform.apiserver.selectors import object_filter, parse_fields, parse_labels
from unkai.platform.apiserver.types import Object, Registry, ResourceType
from unkai.platform.apiserver.watching import ObjectWatch

Clock = Callable[[], datetime]
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_PATCH_RETRIES = 5


def utc_now() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    """RFC 3339 at second precision, as Kubernetes writes ``metav1.Time``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ResourceService:
    """Kubernetes resource semantics over a :class:`~unkai.platform.store.Store`."""

    def __init__(
        self,
        store: db.Store,
        registry: Registry,
        *,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock
        self._rng = rng or random.Random()

    # -- reads ---------------------------------------------------------------------------

    async def get(self, rt: ResourceType, *, name: str, namespace: str | None = None) -> Object:
        obj = await self.store.get(self._key(rt, namespace, name))
        if obj is None:
            raise errors.not_found(group=rt.group, plural=rt.plural, name=name)
        return obj

    async def list(
        self,
        rt: ResourceType,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Object:
        """A ``{Kind}List`` of the matching objects (all namespaces when None)."""
        matches = self._filter(rt, label_selector, field_selector)
        items, revision = await self.store.select(rt.group_resource, self._scope(rt, namespace))
        return {
            "apiVersion": rt.api_version,
            "kind": rt.list_kind,
            "metadata": {"resourceVersion": str(revision)},
            "items": [item for item in items if matches(item)],
        }

    async def watch(
        self,
        rt: ResourceType,
        *,
        namespace: str | None = None,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> ObjectWatch:
        """Changes after ``resource_version``; without one (or with ``"0"``) first an
        ADDED event per existing object. 410 Expired if the version is too old."""
        matches = self._filter(rt, label_selector, field_selector)
        since = None if resource_version in (None, "", "0") else options.revision(resource_version)
        try:
            watch = await self.store.watch(
                rt.group_resource, namespace=self._scope(rt, namespace), since=since
            )
        except db.ExpiredError as error:
            raise errors.expired(str(error)) from None
        if not (label_selector or field_selector):
            return ObjectWatch(watch, matches)
        selected: dict[db.Key, Object] = {}
        if since is not None:  # without one, the initial ADDED events fill it
            scope = self._scope(rt, namespace)
            for item in (await self.store.select(rt.group_resource, scope))[0]:
                if matches(item):
                    metadata = item["metadata"]
                    key = self._key(rt, metadata.get("namespace"), metadata["name"])
                    selected[key] = item
        return ObjectWatch(watch, matches, selected)

    # -- writes --------------------------------------------------------------------------

    async def create(
        self,
        rt: ResourceType,
        body: Any,
        *,
        namespace: str | None = None,
        field_manager: str = "unkai",
        dry_run: bool = False,
    ) -> Object:
        """Create from ``body``; ``metadata.generateName`` picks a free name."""
        obj = self._checked(rt, body, namespace=namespace)
        writer = self._writer(rt, field_manager, subresource="")
        return await self._create(rt, obj, writer=writer, record=True, dry_run=dry_run)

    async def update(
        self,
        rt: ResourceType,
        body: Any,
        *,
        name: str,
        namespace: str | None = None,
        subresource: str = "",
        field_manager: str = "unkai",
        dry_run: bool = False,
    ) -> Object:
        """Replace (PUT); ``body.metadata.resourceVersion`` must be the current one."""
        obj = self._checked(rt, body, namespace=namespace, name=name)
        self._check_subresource(rt, subresource)
        expected = obj["metadata"].get("resourceVersion")
        if not expected:
            raise errors.invalid(group=rt.group, kind=rt.kind, name=name, problems=[
                Problem(("metadata", "resourceVersion"),
                                  "Invalid value: 0x0: must be specified for an update"),
            ])  # fmt: skip
        old = await self.get(rt, name=name, namespace=namespace)
        if old["metadata"]["resourceVersion"] != str(expected):
            raise errors.conflict(group=rt.group, plural=rt.plural, name=name)
        new = admission.for_update(rt, old, obj, subresource=subresource)
        _set_managed(new, old)
        writer = self._writer(rt, field_manager, subresource=subresource)
        return await self._replace(rt, old, new, writer=writer, dry_run=dry_run)

    async def patch(
        self,
        rt: ResourceType,
        patch: Any,
        *,
        patch_type: str,
        name: str,
        namespace: str | None = None,
        subresource: str = "",
        field_manager: str | None = None,
        force: bool = False,
        dry_run: bool = False,
    ) -> Object:
        """Patch by ``patch_type`` (a content type). Retries on a concurrent write unless
        the patch itself names a resourceVersion."""
        self._check_subresource(rt, subresource)
        writer = self._writer(rt, field_manager or "unkai", subresource=subresource)
        if patch_type == patching.APPLY_PATCH:
            if not field_manager:
                raise errors.bad_request("PATCH request with apply must have a fieldManager")
            applied = self._checked(rt, patch, namespace=namespace, name=name)
            return await self._apply(rt, applied, writer=writer, force=force, dry_run=dry_run)
        pinned: str | None = None

        async def attempt() -> Object:
            nonlocal pinned
            old = await self.get(rt, name=name, namespace=namespace)
            patched = self._checked(
                rt,
                patching.patch_object(rt, old, patch, patch_type),
                namespace=namespace,
                name=name,
            )
            pinned = patched["metadata"].get("resourceVersion")
            if pinned not in (None, old["metadata"]["resourceVersion"]):
                raise errors.conflict(group=rt.group, plural=rt.plural, name=name)
            new = admission.for_update(rt, old, patched, subresource=subresource)
            _set_managed(new, old)
            return await self._replace(rt, old, new, writer=writer, dry_run=dry_run)

        return await _retried(attempt, pinned=lambda: bool(pinned))

    async def delete(
        self,
        rt: ResourceType,
        *,
        name: str,
        namespace: str | None = None,
        preconditions: dict[str, Any] | None = None,
        dry_run: bool = False,
        propagation: str = cascade.BACKGROUND,
    ) -> Object:
        """Delete, or start deleting: objects with finalizers (and namespaces, which
        are emptied first) get a ``deletionTimestamp`` and stay until those are done.
        Dependents go later, through the garbage collector, or first (``Foreground``),
        or stay (``Orphan``): see :mod:`.cascade`. A write that lands between the read
        and the delete (a controller's status) is retried, as Kubernetes does, unless a
        precondition pins what the client saw."""
        pinned = any(value is not None for value in (preconditions or {}).values())
        return await _retried(
            functools.partial(
                self._delete_once, rt, name=name, namespace=namespace,
                preconditions=preconditions, dry_run=dry_run, propagation=propagation,
            ),
            pinned=lambda: pinned,
        )  # fmt: skip

    async def _delete_once(
        self,
        rt: ResourceType,
        *,
        name: str,
        namespace: str | None,
        preconditions: dict[str, Any] | None,
        dry_run: bool,
        propagation: str,
    ) -> Object:
        old = await self.get(rt, name=name, namespace=namespace)
        for field, value in (preconditions or {}).items():
            if value is not None and str(old["metadata"].get(field)) != str(value):
                why = (
                    f"Precondition failed: {field} in precondition: {value}, "
                    f"{field} in object meta: {old['metadata'].get(field)}"
                )
                raise errors.conflict(group=rt.group, plural=rt.plural, name=name, why=why)
        if rt.group_resource == "namespaces" and name == "default":
            raise errors.forbidden(group="", plural="namespaces", name=name,
                                   why="this namespace may not be deleted")  # fmt: skip
        key = self._key(rt, namespace, name)
        now = timestamp(self.clock())
        uid = str(old["metadata"].get("uid"))
        dependents = []  # read only when the policy needs them: a scan of every object
        if propagation in (cascade.ORPHAN, cascade.FOREGROUND):
            dependents = cascade.dependents((await self.store.select(None))[0], uid)
        if propagation == cascade.ORPHAN and not dry_run:
            for dependent in dependents:
                await self._disown(dependent, uid)
        waits = propagation == cascade.FOREGROUND and bool(dependents)
        if rt.group_resource == "namespaces" or old["metadata"].get("finalizers") or waits:
            new = admission.begin_deletion(old, now=now)
            if waits:
                new = cascade.holding_for_dependents(new)
            if rt.group_resource == "namespaces":
                new.setdefault("status", {})["phase"] = "Terminating"
            if new == old or dry_run:
                return new
            return await self._commit(rt, key, old, new)
        return old if dry_run else await self._commit(rt, key, old, None)

    async def release(self, rt: ResourceType, obj: Object) -> Object:
        """A foreground deletion whose dependents are gone: drop its finalizer, and the
        object with it when no other finalizer holds it."""
        return await self._replace(rt, obj, cascade.released(obj), writer=None, dry_run=False)

    async def _disown(self, dependent: Object, uid: str) -> None:
        metadata = dependent["metadata"]
        rt = self.registry.for_kind(str(dependent.get("apiVersion")), str(dependent.get("kind")))
        if rt is not None:
            key = self._key(rt, metadata.get("namespace"), metadata["name"])
            await self._commit(rt, key, dependent, cascade.without_owner(dependent, uid))

    async def ensure_namespace(self, name: str) -> Object:
        """Create a namespace unless it exists (``default`` at startup)."""
        rt = self.registry.get("namespaces")
        try:
            return await self.create(rt, {"metadata": {"name": name}})
        except errors.ApiError as error:
            if error.reason != "AlreadyExists":
                raise
            return await self.get(rt, name=name)

    # -- internals -----------------------------------------------------------------------

    def _key(self, rt: ResourceType, namespace: str | None, name: str) -> db.Key:
        if rt.namespaced and not namespace:
            raise errors.bad_request(f"a namespace is required for {rt.group_resource}")
        return db.Key(rt.group_resource, (namespace or "") if rt.namespaced else "", name)

    def _scope(self, rt: ResourceType, namespace: str | None) -> str | None:
        return namespace if rt.namespaced else None

    def _filter(
        self, rt: ResourceType, labels: str | None, fields: str | None
    ) -> Callable[[Object], bool]:
        return object_filter(
            parse_labels(labels), parse_fields(fields, allowed=rt.selectable_fields)
        )

    def _writer(self, rt: ResourceType, manager: str, *, subresource: str) -> managed.Writer:
        return managed.Writer(manager, rt.api_version, timestamp(self.clock()), subresource)

    def _check_subresource(self, rt: ResourceType, subresource: str) -> None:
        if subresource and (subresource != "status" or not rt.has_status):
            raise errors.not_found(group=rt.group, plural=f"{rt.plural}/{subresource}", name="")

    def _checked(
        self, rt: ResourceType, body: Any, *, namespace: str | None, name: str | None = None
    ) -> Object:
        """Shape-check a body against the URL: kind, namespace and name must agree."""
        obj = admission.check_shape(rt, body)
        metadata = obj["metadata"]
        if rt.namespaced:
            if metadata.setdefault("namespace", namespace) != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace "
                    "sent on the request"
                )
        else:
            metadata.pop("namespace", None)
        if name is not None and metadata.setdefault("name", name) != name:
            raise errors.bad_request("the name of the object does not match the name on the URL")
        return obj

    async def _create(
        self, rt: ResourceType, obj: Object, *, writer: managed.Writer, record: bool, dry_run: bool
    ) -> Object:
        metadata = obj["metadata"]
        namespace = metadata.get("namespace")
        if rt.namespaced:
            await self._require_namespace(str(namespace))
        generate = not metadata.get("name") and metadata.get("generateName")
        for _ in range(8 if generate else 1):
            if generate:
                suffix = "".join(self._rng.choice(_NAME_ALPHABET) for _ in range(5))
                metadata["name"] = f"{metadata['generateName']}{suffix}"
            new = admission.for_create(rt, obj, uid=str(uuid.uuid4()), now=timestamp(self.clock()))
            new = admission.admit(rt, new, None)
            if record:
                managed.record_update(None, new, writer)
            if dry_run:
                return new
            try:
                return await self.store.create(
                    self._key(rt, namespace, new["metadata"]["name"]), new
                )
            except db.AlreadyExistsError:
                if not generate:
                    break
        raise errors.already_exists(
            group=rt.group, plural=rt.plural, name=str(metadata.get("name"))
        )

    async def _require_namespace(self, namespace: str) -> None:
        found = await self.store.get(db.Key("namespaces", "", namespace))
        if found is None:
            raise errors.not_found(group="", plural="namespaces", name=namespace)
        if "deletionTimestamp" in found["metadata"]:
            raise errors.forbidden(group="", plural="namespaces", name=namespace, why=(
                f"unable to create new content in namespace {namespace} "
                "because it is being terminated"
            ))  # fmt: skip

    async def _apply(
        self,
        rt: ResourceType,
        applied: Object,
        *,
        writer: managed.Writer,
        force: bool,
        dry_run: bool,
    ) -> Object:
        metadata = applied["metadata"]
        key = self._key(rt, metadata.get("namespace"), metadata["name"])
        for attempt in range(_PATCH_RETRIES):
            old = await self.store.get(key)
            if old is None:
                if writer.subresource:
                    raise errors.not_found(group=rt.group, plural=rt.plural, name=key.name)
                skeleton = {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": {
                    k: v for k, v in metadata.items() if k in ("name", "namespace")}}  # fmt: skip
                merged = managed.apply(skeleton, applied, writer, force=force)
                try:
                    return await self._create(
                        rt, merged, writer=writer, record=False, dry_run=dry_run
                    )
                except errors.ApiError as error:
                    if error.reason != "AlreadyExists" or attempt == _PATCH_RETRIES - 1:
                        raise
                    continue
            merged = managed.apply(old, applied, writer, force=force)
            new = admission.for_update(rt, old, merged, subresource=writer.subresource)
            _set_managed(new, merged)
            try:
                return await self._replace(rt, old, new, writer=None, dry_run=dry_run)
            except errors.ApiError as error:
                retry = error.reason == "Conflict" and attempt < _PATCH_RETRIES - 1
                if not retry or isinstance(error, managed.ApplyConflictError):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _replace(
        self,
        rt: ResourceType,
        old: Object,
        new: Object,
        *,
        writer: managed.Writer | None,
        dry_run: bool,
    ) -> Object:
        """Admit and store a new version of ``old``; a no-op write stores nothing."""
        if not (writer and writer.subresource):
            new = admission.next_generation(old, admission.admit(rt, new, old))
        if writer is not None:
            managed.record_update(old, new, writer)
        if new == old or dry_run:
            return new
        metadata = new["metadata"]
        key = self._key(rt, metadata.get("namespace"), metadata["name"])
        finished = "deletionTimestamp" in metadata and not metadata.get("finalizers")
        if finished and rt.group_resource != "namespaces":
            return await self._commit(rt, key, old, None)
        return await self._commit(rt, key, old, new)

    async def _commit(
        self, rt: ResourceType, key: db.Key, old: Object, new: Object | None
    ) -> Object:
        """Store ``new`` in place of ``old`` (remove it when None); 409 when ``old`` is
        no longer the stored version."""
        expect = options.revision(old["metadata"]["resourceVersion"])
        try:
            if new is None:
                return await self.store.delete(key, expect=expect)
            return await self.store.update(key, new, expect=expect)
        except (db.ConflictError, db.NotFoundError):
            raise errors.conflict(group=rt.group, plural=rt.plural, name=key.name) from None


async def _retried(
    attempt: Callable[[], Awaitable[Object]], *, pinned: Callable[[], bool]
) -> Object:
    """``attempt()``, again when a write landed between its read and its own (409), as
    Kubernetes retries an update or delete, unless ``pinned()``: the client named the
    version it saw, and the conflict is its answer."""
    for tries in range(1, _PATCH_RETRIES + 1):
        try:
            return await attempt()
        except errors.ApiError as error:
            if error.reason != "Conflict" or pinned() or tries == _PATCH_RETRIES:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _set_managed(new: Object, source: Object) -> None:
    fields = source["metadata"].get("managedFields")
    if fields:
        new["metadata"]["managedFields"] = copy.deepcopy(fields)
    else:
        new["metadata"].pop("managedFields", None)
