"""Kubernetes protobuf request bodies of built-in kinds, decoded to their JSON form.

client-go's typed clients, ``kubectl create namespace|configmap|secret`` among them,
send core/v1 objects as ``application/vnd.kubernetes.protobuf``: the magic ``k8s\\x00``,
then a ``runtime.Unknown`` (typeMeta = 1 {apiVersion = 1, kind = 2}, raw = 2) whose
``raw`` is the object's own message. :func:`decode` turns such a body into the dict the
same object sent as JSON parses to, so admission and storage cannot tell them apart:

* empty strings are dropped, as Go's ``omitempty`` drops them from JSON (gogo-protobuf
  writes every non-pointer string, empty or not);
* ``bytes`` values (Secret ``data``, ConfigMap ``binaryData``) become base64 strings;
* only what a client sets on create and update is read; server-owned metadata
  (uid, timestamps, managedFields), status and unknown fields are skipped, since the
  server keeps its own.

Field numbers are those of ``k8s.io/api/core/v1/generated.proto`` and
``k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto``. Kinds without a schema here
(Event, which kubectl never sends, and the Knative kinds: Kubernetes serves no protobuf
for custom resources either) answer protobuf with a 415.
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from unkai.platform.apiserver import errors, wire
from unkai.platform.apiserver.types import Object, ResourceType

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
_MAGIC = b"k8s\x00"

Decode = Callable[[wire.Field, str], Any]
"""Reads the value of one field occurrence; the string names the field in errors."""


@dataclass(frozen=True)
class Slot:
    """One field of a message: its JSON name, how its value reads, and whether it
    repeats as a list or as map entries (messages of key = 1, value = 2)."""

    name: str
    decode: Decode
    shape: Literal["one", "list", "map"] = "one"


Schema = dict[int, Slot]


def _payload(field: wire.Field, where: str) -> bytes:
    if field.wire_type != wire.LENGTH or not isinstance(field.value, bytes):
        raise wire.WireError(
            f"{where} must be length-delimited, not {wire.WIRE_TYPES[field.wire_type]}, "
            f"at byte {field.offset}"
        )
    return field.value


def string(field: wire.Field, where: str) -> str:
    data = _payload(field, where)
    try:
        return data.decode()
    except UnicodeDecodeError as error:
        raise wire.WireError(
            f"{where} is not valid UTF-8 at byte {field.offset + error.start}"
        ) from None


def base64_text(field: wire.Field, where: str) -> str:
    return b64encode(_payload(field, where)).decode("ascii")


def boolean(field: wire.Field, where: str) -> bool:
    if field.wire_type != wire.VARINT:
        raise wire.WireError(
            f"{where} must be a varint, not {wire.WIRE_TYPES[field.wire_type]}, "
            f"at byte {field.offset}"
        )
    return bool(field.value)


def message(schema: Schema) -> Decode:
    """A decoder of an embedded message."""

    def decode(field: wire.Field, where: str) -> Object:
        return decode_message(schema, _payload(field, where), base=field.offset, where=where)

    return decode


def decode_message(schema: Schema, data: bytes, *, base: int, where: str) -> Object:
    """The JSON form of one message: its known fields by name, empty strings left out."""
    obj: Object = {}
    for field in wire.fields(data, base=base, where=where):
        slot = schema.get(field.number)
        if slot is None:
            continue
        path = f"{where}.{slot.name}"
        if slot.shape == "map":
            entry = _parts(_payload(field, path), base=field.offset, where=path)
            key = string(entry[1], f"{path} key") if 1 in entry else ""
            value = slot.decode(entry[2], f"{path}[{key}]") if 2 in entry else ""
            obj.setdefault(slot.name, {})[key] = value
        elif slot.shape == "list":
            items = obj.setdefault(slot.name, [])
            items.append(slot.decode(field, f"{path}[{len(items)}]"))
        else:
            obj[slot.name] = slot.decode(field, path)
    return {name: value for name, value in obj.items() if value != ""}


def _parts(data: bytes, *, base: int, where: str) -> dict[int, wire.Field]:
    """The fields of a small message by number; the last occurrence wins, as in protobuf."""
    return {field.number: field for field in wire.fields(data, base=base, where=where)}


_OWNER_REFERENCE: Schema = {
    5: Slot("apiVersion", string), 1: Slot("kind", string), 3: Slot("name", string),
    4: Slot("uid", string), 6: Slot("controller", boolean),
    7: Slot("blockOwnerDeletion", boolean),
}  # fmt: skip
_METADATA = Slot("metadata", message({
    1: Slot("name", string), 2: Slot("generateName", string), 3: Slot("namespace", string),
    6: Slot("resourceVersion", string), 11: Slot("labels", string, "map"),
    12: Slot("annotations", string, "map"),
    13: Slot("ownerReferences", message(_OWNER_REFERENCE), "list"),
    14: Slot("finalizers", string, "list"),
}))  # fmt: skip
SCHEMAS: dict[tuple[str, str], Schema] = {
    ("v1", "Namespace"): {
        1: _METADATA, 2: Slot("spec", message({1: Slot("finalizers", string, "list")})),
    },
    ("v1", "ConfigMap"): {
        1: _METADATA, 2: Slot("data", string, "map"), 3: Slot("binaryData", base64_text, "map"),
        4: Slot("immutable", boolean),
    },
    ("v1", "Secret"): {
        1: _METADATA, 2: Slot("data", base64_text, "map"), 3: Slot("type", string),
        4: Slot("stringData", string, "map"), 5: Slot("immutable", boolean),
    },
}  # fmt: skip
_TYPE_META = message({1: Slot("apiVersion", string), 2: Slot("kind", string)})


def serves(rt: ResourceType) -> bool:
    """Whether objects of ``rt`` may be sent as protobuf."""
    return (rt.api_version, rt.kind) in SCHEMAS


def decode(body: bytes, rt: ResourceType) -> Object:
    """The JSON form of a protobuf body carrying an ``rt`` object; 400 saying what is
    malformed and where (the field, and the byte offset in the body).

    An envelope naming another kind yields just that apiVersion and kind, which the
    service refuses with the message a JSON body of the wrong kind gets."""
    if not body.startswith(_MAGIC):
        raise errors.bad_request(
            f"the request body is not Kubernetes protobuf: it does not start with {_MAGIC!r}"
        )
    try:
        envelope = _parts(body[len(_MAGIC) :], base=len(_MAGIC), where="runtime.Unknown")
        type_meta = _TYPE_META(envelope[1], "runtime.Unknown.typeMeta") if 1 in envelope else {}
        api_version = type_meta.get("apiVersion", rt.api_version)
        kind = type_meta.get("kind", rt.kind)
        if (api_version, kind) != (rt.api_version, rt.kind):
            return {"apiVersion": api_version, "kind": kind}
        obj = message(SCHEMAS[api_version, kind])(envelope[2], kind) if 2 in envelope else {}
    except wire.WireError as error:
        raise errors.bad_request(
            f"the request body is not valid Kubernetes protobuf: {error}"
        ) from None
    return {"apiVersion": api_version, "kind": kind, **obj}
