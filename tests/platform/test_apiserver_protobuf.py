"""Protobuf request bodies of the built-in kinds, as client-go's typed clients send them.

Aspects: bodies captured from kubectl 1.32 (``-v=9``) decode to what the same objects
sent as JSON parse to; every decoded field, on bytes built here by hand; unknown fields
of every wire type are skipped; malformed bodies are a 400 naming the field and byte;
over HTTP, create and update take protobuf, while other kinds, the status subresource
and unknown media types keep the 415; secrets get Kubernetes' defaulting.
"""

from base64 import b64decode
from typing import Any

import httpx2
import pytest

from unkai.platform.apiserver import protobuf
from unkai.platform.apiserver.errors import ApiError
from unkai.platform.apiserver.kinds import CONFIG_MAP, NAMESPACE, SECRET

PROTOBUF = {"Content-Type": "application/vnd.kubernetes.protobuf"}

# Bodies kubectl 1.32 sends (from ``kubectl -v=9``): gogo-protobuf writes empty strings,
# a zero generation and an empty creationTimestamp, which JSON would leave out.
# kubectl create secret generic s1 --from-literal=k=v
KUBECTL_SECRET = bytes.fromhex(
    "6b 38 73 00 0a 0c 0a 02 76 31 12 06 53 65 63 72 65 74 12 1e 0a 12 0a 02 73 31 12 00"
    "1a 00 22 00 2a 00 32 00 38 00 42 00 12 06 0a 01 6b 12 01 76 1a 00 1a 00 22 00"
)
# kubectl create namespace team-b
KUBECTL_NAMESPACE = bytes.fromhex(
    "6b 38 73 00 0a 0f 0a 02 76 31 12 09 4e 61 6d 65 73 70 61 63 65 12 1e 0a 16 0a 06 74"
    "65 61 6d 2d 62 12 00 1a 00 22 00 2a 00 32 00 38 00 42 00 12 00 1a 02 0a 00 1a 00 22 00"
)
# kubectl create configmap cm2 --from-literal=a=b --from-file=blob=<00 ff fe " binary">
KUBECTL_CONFIG_MAP = bytes.fromhex(
    "6b 38 73 00 0a 0f 0a 02 76 31 12 09 43 6f 6e 66 69 67 4d 61 70 12 31 0a 13 0a 03 63"
    "6d 32 12 00 1a 00 22 00 2a 00 32 00 38 00 42 00 12 06 0a 01 61 12 01 62 1a 12 0a 04"
    "62 6c 6f 62 12 0a 00 ff fe 20 62 69 6e 61 72 79 1a 00 22 00"
)


def varint(number: int) -> bytes:
    out = bytearray()
    while number > 0x7F:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    return bytes([*out, number])


def field(number: int, value: bytes | str | int) -> bytes:
    """One field: an int as a varint, bytes or text as a length-delimited value."""
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def entry(number: int, key: str, value: bytes | str) -> bytes:
    return field(number, field(1, key) + field(2, value))


def envelope(kind: str, raw: bytes, api_version: str = "v1") -> bytes:
    type_meta = field(1, api_version) + field(2, kind)
    return b"k8s\x00" + field(1, type_meta) + field(2, raw) + field(3, "") + field(4, "")


def test_kubectl_bodies_decode_as_their_json() -> None:
    assert protobuf.decode(KUBECTL_SECRET, SECRET) == {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1"}, "data": {"k": "dg=="},
    }  # fmt: skip
    assert protobuf.decode(KUBECTL_NAMESPACE, NAMESPACE) == {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b"}, "spec": {},
    }  # fmt: skip
    decoded = protobuf.decode(KUBECTL_CONFIG_MAP, CONFIG_MAP)
    assert decoded["metadata"] == {"name": "cm2"}
    assert decoded["data"] == {"a": "b"}
    assert b64decode(decoded["binaryData"]["blob"]) == b"\x00\xff\xfe binary"


def test_every_field_a_client_sets_decodes() -> None:
    owner = (
        field(5, "serving.knative.dev/v1") + field(1, "Service") + field(3, "hello")
        + field(4, "u-1") + field(6, 1) + field(7, 0)
    )  # fmt: skip
    metadata = (
        field(1, "cm") + field(2, "cm-") + field(3, "team-a") + field(6, "42")
        + entry(11, "app", "web") + entry(11, "tier", "") + entry(12, "note", "hi")
        + field(13, owner) + field(14, "a/b") + field(14, "c/d")
    )  # fmt: skip
    body = field(1, metadata) + entry(2, "k", "v") + entry(3, "bin", b"\x00\x01") + field(4, 0)
    assert protobuf.decode(envelope("ConfigMap", body), CONFIG_MAP) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "cm", "generateName": "cm-", "namespace": "team-a",
            "resourceVersion": "42", "labels": {"app": "web", "tier": ""},
            "annotations": {"note": "hi"}, "finalizers": ["a/b", "c/d"],
            "ownerReferences": [{
                "apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "hello",
                "uid": "u-1", "controller": True, "blockOwnerDeletion": False,
            }],
        },
        "data": {"k": "v"},
        "binaryData": {"bin": "AAE="},
        "immutable": False,
    }  # fmt: skip
    secret = entry(2, "k", b"\xff") + field(3, "kubernetes.io/tls") + entry(4, "s", "t")
    assert protobuf.decode(envelope("Secret", secret + field(5, 1)), SECRET) == {
        "apiVersion": "v1", "kind": "Secret", "data": {"k": "/w=="},
        "type": "kubernetes.io/tls", "stringData": {"s": "t"}, "immutable": True,
    }  # fmt: skip
    spec = field(1, "kubernetes") + field(1, "example.com/x")
    assert protobuf.decode(envelope("Namespace", field(2, spec)), NAMESPACE)["spec"] == {
        "finalizers": ["kubernetes", "example.com/x"]
    }


def test_unknown_fields_are_skipped_and_the_last_value_wins() -> None:
    unknown = (
        field(99, 7) + field(98, "x")
        + varint(97 << 3 | 1) + bytes(8) + varint(96 << 3 | 5) + bytes(4)
    )  # fmt: skip
    metadata = field(1, "old") + unknown + field(8, field(1, 1700000000)) + field(1, "new")
    body = field(1, metadata) + unknown + field(5, "unknown") + entry(2, "k", "1")
    decoded = protobuf.decode(envelope("ConfigMap", body) + unknown, CONFIG_MAP)
    assert decoded == {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new"}, "data": {"k": "1"},
    }  # fmt: skip
    missing_value = field(2, field(1, "only-key"))
    assert protobuf.decode(envelope("ConfigMap", missing_value), CONFIG_MAP)["data"] == {
        "only-key": ""
    }


def test_an_envelope_of_another_kind_is_left_to_the_kind_check() -> None:
    body = envelope("Secret", field(1, field(1, "s")))
    assert protobuf.decode(body, CONFIG_MAP) == {"apiVersion": "v1", "kind": "Secret"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"kind": "ConfigMap"}', "it does not start with b'k8s\\x00'"),
        (b"k8s\x00\x0a", "runtime.Unknown: truncated varint at byte 5"),
        (
            b"k8s\x00\x12\x64ab",
            "runtime.Unknown: field 2 needs 100 bytes at byte 6, but only 2 remain",
        ),
        (b"k8s\x00" + b"\xff" * 11, "runtime.Unknown: varint longer than 10 bytes at byte 4"),
        (b"k8s\x00\x0b", "runtime.Unknown: field 1 has unsupported wire type 3 at byte 4"),
        (b"k8s\x00\x02\x00", "runtime.Unknown: field number 0 at byte 4"),
        (
            b"k8s\x00\x08\x01",
            "runtime.Unknown.typeMeta must be length-delimited, not a varint, at byte 5",
        ),
        (
            envelope("ConfigMap", field(1, field(1, 5))),
            "ConfigMap.metadata.name must be length-delimited, not a varint, at byte 26",
        ),
        (
            envelope("ConfigMap", field(1, entry(11, "app", b"\xc3("))),
            "ConfigMap.metadata.labels[app] is not valid UTF-8 at byte 34",
        ),
        (
            envelope("ConfigMap", field(4, "yes")),
            "ConfigMap.immutable must be a varint, not length-delimited, at byte 25",
        ),
        (
            envelope("ConfigMap", field(2, b"\x0a\x05ab")),
            "ConfigMap.data: field 1 needs 5 bytes at byte 27, but only 2 remain",
        ),
    ],
)
def test_malformed_bodies_are_a_bad_request_saying_where(body: bytes, message: str) -> None:
    with pytest.raises(ApiError) as caught:
        protobuf.decode(body, CONFIG_MAP)
    assert caught.value.code == 400
    assert caught.value.reason == "BadRequest"
    assert message in caught.value.message


def post(
    http: httpx2.Client, path: str, body: bytes, content_type: str = protobuf.MEDIA_TYPE
) -> httpx2.Response:
    return http.post(path, content=body, headers={"Content-Type": content_type})


def test_create_and_update_take_protobuf(http: httpx2.Client) -> None:
    configmaps = "/api/v1/namespaces/default/configmaps"
    metadata = field(1, "cm") + entry(11, "app", "web")
    created = post(http, configmaps, envelope("ConfigMap", field(1, metadata) + entry(2, "a", "1")))
    assert created.status_code == 201, created.text
    assert created.headers["content-type"] == "application/json"
    version = created.json()["metadata"]["resourceVersion"]
    fetched = http.get(f"{configmaps}/cm").json()
    assert fetched["data"] == {"a": "1"}
    assert fetched["metadata"]["labels"] == {"app": "web"}
    stale = envelope("ConfigMap", field(1, field(1, "cm")) + entry(2, "a", "2"))
    refused = http.put(f"{configmaps}/cm", content=stale, headers=PROTOBUF)
    assert refused.status_code == 422, "an update without resourceVersion, as with JSON"
    current = field(1, field(1, "cm") + field(6, version)) + entry(2, "a", "2")
    updated = http.put(f"{configmaps}/cm", content=envelope("ConfigMap", current), headers=PROTOBUF)
    assert updated.status_code == 200, updated.text
    assert http.get(f"{configmaps}/cm").json()["data"] == {"a": "2"}


def status_of(response: httpx2.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert body["kind"] == "Status"
    return body


def test_malformed_and_mismatched_bodies_are_a_400(http: httpx2.Client) -> None:
    malformed = post(http, "/api/v1/namespaces", envelope("Namespace", field(1, b"\x0a\x09x")))
    assert malformed.status_code == 400
    assert status_of(malformed)["message"] == (
        "the request body is not valid Kubernetes protobuf: Namespace.metadata: "
        "field 1 needs 9 bytes at byte 27, but only 1 remain"
    )
    mismatched = post(http, "/api/v1/namespaces", envelope("Secret", b""))
    assert mismatched.status_code == 400
    assert "do not match the URL (v1, Namespace)" in status_of(mismatched)["message"]


def test_protobuf_is_a_415_where_it_is_not_served(http: httpx2.Client) -> None:
    knative = post(http, "/apis/serving.knative.dev/v1/namespaces/default/services", b"k8s\x00")
    assert knative.status_code == 415
    assert status_of(knative)["message"].endswith("application/json, application/yaml")
    event = post(http, "/api/v1/namespaces/default/events", envelope("Event", b""))
    assert event.status_code == 415
    status = http.put("/api/v1/namespaces/default/status", content=b"k8s\x00", headers=PROTOBUF)
    assert status.status_code == 415
    text = post(http, "/api/v1/namespaces", b"x", "text/plain")
    assert text.status_code == 415
    assert status_of(text)["message"].endswith(
        "application/json, application/yaml, application/vnd.kubernetes.protobuf"
    )


def test_secrets_merge_string_data_and_default_to_opaque(http: httpx2.Client) -> None:
    body = field(1, field(1, "s")) + entry(2, "a", b"1") + entry(4, "b", "2") + entry(4, "a", "3")
    created = post(http, "/api/v1/namespaces/default/secrets", envelope("Secret", body))
    assert created.status_code == 201, created.text
    secret = created.json()
    assert "stringData" not in secret
    assert secret["type"] == "Opaque"
    assert {key: b64decode(value) for key, value in secret["data"].items()} == {
        "a": b"3", "b": b"2",
    }  # fmt: skip
    typed = {"metadata": {"name": "t"}, "type": "kubernetes.io/tls", "stringData": {"x": "y"}}
    stored = http.post("/api/v1/namespaces/default/secrets", json=typed).json()
    assert (stored["type"], stored["data"]) == ("kubernetes.io/tls", {"x": "eQ=="})
