"""``metadata.managedFields`` bookkeeping and server-side apply.

Ownership is simplified from Kubernetes' structured-merge-diff (see docs/api-server.md):

* each entry is (manager, operation ``Apply``/``Update``, subresource) with a set of
  leaf paths (:mod:`unkai.platform.apiserver.fields`); lists are atomic;
* an update or patch gives its manager the paths it changed and takes them from others;
* an apply makes its manager own exactly the paths it sent. A path another manager
  owns with a *different* value is a conflict (409) unless ``force``, which takes the
  path over. An empty map applied claims only the map, not what others put in it.
  Paths the manager applied before and left out now are removed from the
  object, unless another manager also owns them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from unkai.platform.apiserver import fields
from unkai.platform.apiserver.errors import ApiError
from unkai.platform.apiserver.fields import Object, Path


@dataclass
class Entry:
    manager: str
    operation: str
    subresource: str
    api_version: str
    time: str
    paths: set[Path] = field(default_factory=set)

    @classmethod
    def load(cls, raw: dict[str, Any]) -> Entry:
        return cls(
            manager=str(raw.get("manager", "")),
            operation=str(raw.get("operation", "Update")),
            subresource=str(raw.get("subresource", "")),
            api_version=str(raw.get("apiVersion", "")),
            time=str(raw.get("time", "")),
            paths=fields.decode(raw.get("fieldsV1")),
        )

    def dump(self) -> dict[str, Any]:
        raw: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": fields.encode(self.paths),
        }
        if self.subresource:
            raw["subresource"] = self.subresource
        return raw


@dataclass(frozen=True)
class Writer:
    """Who writes, and where: what a managedFields entry is keyed and stamped with."""

    manager: str
    api_version: str
    now: str
    subresource: str = ""

    @property
    def status(self) -> bool:
        return self.subresource == "status"


def _entries(obj: Object) -> list[Entry]:
    return [Entry.load(raw) for raw in obj.get("metadata", {}).get("managedFields") or []]


def _store(obj: Object, entries: list[Entry]) -> None:
    kept = [entry.dump() for entry in entries if entry.paths]
    if kept:
        obj["metadata"]["managedFields"] = kept
    else:
        obj["metadata"].pop("managedFields", None)


def _claim(entries: list[Entry], writer: Writer, operation: str) -> Entry:
    for entry in entries:
        if (entry.manager, entry.operation, entry.subresource) == (
            writer.manager, operation, writer.subresource,
        ):  # fmt: skip
            entry.api_version, entry.time = writer.api_version, writer.now
            return entry
    entry = Entry(writer.manager, operation, writer.subresource, writer.api_version, writer.now)
    entries.append(entry)
    return entry


def _release(entries: list[Entry], paths: set[Path], *, keep: Entry) -> None:
    for entry in entries:
        if entry is not keep:
            entry.paths = {p for p in entry.paths if not any(fields.overlaps(p, q) for q in paths)}


def record_update(old: Object | None, new: Object, writer: Writer) -> None:
    """Stamp ``new`` with ownership after a create, update or patch by ``writer``."""
    entries = _entries(old) if old is not None else []
    changed = fields.changed(old or {}, new, status=writer.status)
    if changed:
        mine = _claim(entries, writer, "Update")
        _release(entries, changed, keep=mine)
        mine.paths |= {p for p in changed if fields.has(new, p)}
    _store(new, entries)


class ApplyConflictError(ApiError):
    """Apply would change fields other managers own (409, one cause per field)."""

    def __init__(self, conflicts: list[tuple[str, Path]], api_version: str) -> None:
        managers = sorted({manager for manager, _ in conflicts})
        lines = [f".{'.'.join(path)}" for _, path in conflicts]
        who = ", ".join(f'"{m}"' for m in managers)
        noun = "conflict" if len(conflicts) == 1 else "conflicts"
        message = (
            f"Apply failed with {len(conflicts)} {noun}: {noun} with {who} using {api_version}"
        )
        message += f": {lines[0]}" if len(lines) == 1 else ":\n- " + "\n- ".join(lines)
        causes = [
            {
                "reason": "FieldManagerConflict",
                "message": f'conflict with "{manager}" using {api_version}',
                "field": f".{'.'.join(path)}",
            }
            for manager, path in conflicts
        ]
        super().__init__(409, "Conflict", message, details={"causes": causes})


def apply(current: Object, applied: Object, writer: Writer, *, force: bool) -> Object:
    """Merge an applied configuration into ``current``; returns the new object."""
    entries = _entries(current)
    wanted = fields.owned_paths(applied, status=writer.status)
    conflicts: list[tuple[str, Path]] = []
    for entry in entries:
        if entry.manager == writer.manager or entry.subresource != writer.subresource:
            continue
        for owned in entry.paths:
            for path in wanted:
                if not fields.overlaps(owned, path) or fields.get(applied, path) == {}:
                    continue
                longer = max(owned, path, key=len)
                if fields.get(current, longer) != fields.get(applied, longer):
                    conflicts.append((entry.manager, longer))
    if conflicts and not force:
        raise ApplyConflictError(sorted(set(conflicts)), writer.api_version)
    mine = _claim(entries, writer, "Apply")
    _release(entries, {path for _, path in conflicts}, keep=mine)
    merged = copy.deepcopy(current)
    others = [p for entry in entries if entry is not mine for p in entry.paths]
    for path in mine.paths - wanted:
        if not any(fields.overlaps(path, other) for other in others):
            fields.remove(merged, path)
    for path in wanted:
        value = fields.get(applied, path)
        if value == {} and isinstance(fields.get(merged, path), dict):
            continue
        fields.put(merged, path, copy.deepcopy(value))
    mine.paths = wanted
    _store(merged, entries)
    return merged
