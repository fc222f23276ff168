"""Request bodies the server refuses before they reach the store, over real HTTPS.

Aspects: JSON is strict (NaN, ±Infinity, out-of-range numbers are a 400, so nothing
stored can break another client's decoding); YAML apply patches refuse ``.nan``/
``.inf``, anchors and aliases (the billion-laughs body), and decode to plain JSON
(timestamps as text, keys as strings); nesting is bounded; bodies over 3 MiB are a 413,
read incrementally (the 413 comes before the body ends); malformed DeleteOptions and
integers too long to convert are a 400, never a 500.
"""

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import pytest

from .conftest import TOKEN, RunningApi
from .test_apiserver_http import CONFIGMAPS

JSON = {"content-type": "application/json"}
APPLY = {"content-type": "application/apply-patch+yaml"}
LIMIT = 3 * 1024 * 1024


def refused(response: httpx2.Response, code: int = 400) -> str:
    assert response.status_code == code, response.text
    status = response.json()
    assert (status["kind"], status["code"]) == ("Status", code)
    message: str = status["message"]
    return message


def apply(http: httpx2.Client, body: bytes, name: str = "cm") -> httpx2.Response:
    return http.patch(f"{CONFIGMAPS}/{name}", params={"fieldManager": "t"}, content=body,
                      headers=APPLY)  # fmt: skip


def strict(text: str) -> Any:
    """Decode as Go clients do: NaN and Infinity are not JSON."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"NaN", "NaN is not a JSON number"),
        (b"Infinity", "Infinity is not a JSON number"),
        (b"-Infinity", "-Infinity is not a JSON number"),
        (b"1e400", "1e400 is out of range"),
        (b"9223372036854775808", "is out of range: integers must fit in 64 bits"),
        (b"1" * 5000, "11111111111111111111... (5000 characters) is out of range"),
    ],
)
def test_json_numbers_no_client_can_read_are_refused(
    http: httpx2.Client, value: bytes, reason: str
) -> None:
    body = b'{"metadata": {"name": "n"}, "data": {"a": ' + value + b"}}"
    message = refused(http.post(CONFIGMAPS, content=body, headers=JSON))
    assert message.startswith("the request body is not valid JSON: ")
    assert reason in message
    assert apply(http, body, "n").status_code == 400, "JSON sent as an apply patch too"
    assert strict(http.get(CONFIGMAPS).text)["items"] == []


def test_json_keeps_64_bit_integers_and_finite_floats(http: httpx2.Client) -> None:
    spec = {"big": 2**63 - 1, "small": -(2**63), "float": 1.5e308}
    body = json.dumps({"metadata": {"name": "nums"}, "spec": spec}).encode()
    created = http.post("/apis/serving.knative.dev/v1/namespaces/default/services", content=body,
                        headers=JSON)  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json()["spec"] == spec


@pytest.mark.parametrize("value", [".nan", ".NaN", ".inf", "-.inf", "+.Inf"])
def test_yaml_nan_and_infinity_are_refused(http: httpx2.Client, value: str) -> None:
    message = refused(apply(http, f"metadata: {{name: cm}}\ndata: {{a: {value}}}\n".encode()))
    assert f"{value} is not allowed: JSON numbers are finite" in message
    assert "line 2" in message
    assert strict(http.get(CONFIGMAPS).text)["items"] == []


def test_yaml_anchors_and_aliases_are_refused(api: RunningApi, http: httpx2.Client) -> None:
    laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in "bcdefgh":
        previous = chr(ord(level) - 1)
        laughs.append(f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]")
    bomb = "\n".join(["metadata: {name: cm}", "data:", *("  " + line for line in laughs)])
    size = api.data_dir.joinpath("store.sqlite").stat().st_size
    started = time.monotonic()
    message = refused(apply(http, bomb.encode()))
    assert time.monotonic() - started < 2
    assert "anchors and aliases are not allowed" in message
    assert api.data_dir.joinpath("store.sqlite").stat().st_size == size
    unused = b"metadata: &m {name: cm}\n"
    assert "anchors and aliases are not allowed" in refused(apply(http, unused))


def test_yaml_decodes_to_plain_json(http: httpx2.Client) -> None:
    body = b"metadata: {name: cm}\ndata: {when: 2024-01-02, 2: two, true: yes}\n"
    response = apply(http, body)
    assert response.is_success, response.text
    assert response.json()["data"] == {"when": "2024-01-02", "2": "two", "true": True}
    binary = b"metadata: {name: cm}\ndata: {a: !!binary aGk=}\n"
    assert "a value JSON cannot hold" in refused(apply(http, binary))
    number = b"metadata: {name: cm}\ndata: {a: " + b"1" * 5000 + b"}\n"
    assert "(5000 characters) is out of range" in refused(apply(http, number))


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"[" * 100_000, JSON),
        (b'{"a":' * 5000, JSON),
        (b"[" * 101 + b"]" * 101, JSON),
        (b"[" * 100_000, APPLY),
        (b"a:\n" + b"".join(b" " * i + b"- \n" for i in range(1, 200)), APPLY),
    ],
)
def test_deep_nesting_is_a_bad_request(
    http: httpx2.Client, body: bytes, headers: dict[str, str]
) -> None:
    message = refused(http.patch(f"{CONFIGMAPS}/x", params={"fieldManager": "t"}, content=body,
                                 headers=headers))  # fmt: skip
    assert "deeper than 100 levels" in message
    nested: Any = "leaf"
    for _ in range(99):
        nested = [nested]
    fine = {"metadata": {"name": "deep"}, "data": {}, "nested": nested}
    assert http.post(CONFIGMAPS, json=fine).status_code == 201


def test_bodies_over_3_mib_are_413(http: httpx2.Client) -> None:
    huge = b'{"a":"' + b"x" * (100 * 1024 * 1024) + b'"}'
    assert refused(http.post(CONFIGMAPS, content=huge, headers=JSON), 413) == (
        f"Request entity too large: limit is {LIMIT}"
    )
    body = b"metadata: {name: cm}\ndata:\n  a: |\n    " + b'"' * 2_000_000 + b"\n"
    assert len(body) < LIMIT
    assert refused(apply(http, body), 413) == f"Request entity too large: limit is {LIMIT}"
    fits = {"metadata": {"name": "big"}, "data": {"a": "x" * (LIMIT - 1000)}}
    assert http.post(CONFIGMAPS, json=fits).status_code == 201


@contextmanager
def raw_tls(api: RunningApi) -> Iterator[socket.socket]:
    """A TLS connection to the server, to send what an HTTP client would not."""
    context = api.ssl_context()
    with (
        socket.create_connection(("127.0.0.1", api.server.port), timeout=10) as plain,
        context.wrap_socket(plain, server_hostname="127.0.0.1") as tls,
    ):
        yield tls


def test_a_chunked_body_is_refused_at_the_limit_not_at_its_end(api: RunningApi) -> None:
    with raw_tls(api) as tls:
        tls.sendall(
            f"POST {CONFIGMAPS} HTTP/1.1\r\nHost: localhost\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        chunk = b"x" * 65536
        for _ in range(64):  # 4 MiB, and the body never ends
            tls.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = b""
        while b"Request entity too large" not in answer and (data := tls.recv(65536)):
            answer += data
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:100]


def test_malformed_delete_options_are_a_bad_request(http: httpx2.Client) -> None:
    http.post(CONFIGMAPS, json={"metadata": {"name": "cm"}})

    def delete(options: Any) -> httpx2.Response:
        return http.request("DELETE", f"{CONFIGMAPS}/cm", json=options)

    assert (
        refused(delete({"preconditions": "x"})) == "DeleteOptions.preconditions must be an object"
    )
    assert "must be a string" in refused(delete({"preconditions": {"uid": 1}}))
    assert "must be an integer" in refused(delete({"gracePeriodSeconds": "soon"}))
    assert "must be a list" in refused(delete({"dryRun": "All"}))
    assert "DeleteOptions object" in refused(delete(["x"]))
    policy = refused(delete({"propagationPolicy": "Sideways"}), 422)
    assert policy == (
        'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
        '"Sideways": supported values: "Foreground", "Background", "Orphan"'
    )
    assert http.get(f"{CONFIGMAPS}/cm").status_code == 200
    stale = delete({"preconditions": {"resourceVersion": "1"}})
    assert stale.status_code == 409
    assert delete({"propagationPolicy": "Background", "gracePeriodSeconds": 0}).status_code == 200
