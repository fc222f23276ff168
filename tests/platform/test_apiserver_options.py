"""Query parameters, dry runs, the bearer scheme and connection limits, over real HTTPS.

Aspects: malformed integer parameters (``timeoutSeconds``, ``resourceVersion``,
``limit``, ``gracePeriodSeconds``) are a 400 naming the parameter; booleans read as
Kubernetes reads them; ``dryRun`` takes only ``All`` (anything else is Kubernetes' 422
on the verb's options kind) and a dry run changes nothing, collections included; the
``Bearer`` scheme is case-insensitive; a request head over 64 KiB is refused and an
idle connection is closed.
"""

import httpx2
import pytest

from unkai.platform.apiserver import server

from .conftest import TOKEN, RunningApi, StartApi
from .test_apiserver_bodies import raw_tls, refused
from .test_apiserver_http import CONFIGMAPS, created

MERGE = {"content-type": "application/merge-patch+json"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"watch": "1", "timeoutSeconds": "abc"}, "invalid timeoutSeconds 'abc'"),
        ({"watch": "1", "timeoutSeconds": "-1"}, "must be a non-negative number of seconds"),
        ({"watch": "1", "resourceVersion": "abc"}, "invalid resourceVersion 'abc'"),
        ({"watch": "1", "resourceVersion": "9" * 5000}, "must be a non-negative integer"),
        ({"watch": "1", "limit": "abc"}, "invalid limit 'abc': must be a 64-bit integer"),
        ({"resourceVersion": "-5"}, "invalid resourceVersion '-5'"),
        ({"limit": "9" * 5000}, "must be a 64-bit integer"),
        ({"limit": "1e3"}, "invalid limit '1e3'"),
    ],
)
def test_malformed_list_and_watch_parameters_are_a_bad_request(
    http: httpx2.Client, params: dict[str, str], message: str
) -> None:
    assert message in refused(http.get(CONFIGMAPS, params=params))


def test_well_formed_parameters_are_accepted(http: httpx2.Client) -> None:
    listed = http.get(CONFIGMAPS, params={"limit": "500", "resourceVersion": "0"})
    assert listed.status_code == 200
    watched = http.get(CONFIGMAPS, params={"watch": "true", "timeoutSeconds": "0.1"})
    assert watched.status_code == 200
    created(http, {"metadata": {"name": "cm"}}, CONFIGMAPS)
    grace = http.delete(f"{CONFIGMAPS}/cm", params={"gracePeriodSeconds": "soon"})
    assert "invalid gracePeriodSeconds 'soon'" in refused(grace)
    assert http.delete(f"{CONFIGMAPS}/cm", params={"gracePeriodSeconds": "0"}).status_code == 200


def test_booleans_read_as_kubernetes_reads_them(http: httpx2.Client) -> None:
    for value in ("false", "FALSE", "0"):
        assert http.get(CONFIGMAPS, params={"watch": value}).json()["kind"] == "ConfigMapList"
    with http.stream("GET", CONFIGMAPS, params={"watch": "yes", "timeoutSeconds": "0.1"}) as r:
        assert r.read() == b"", "any other value is true: a watch, with no events"


def test_dry_run_takes_only_all(http: httpx2.Client) -> None:
    body = {"metadata": {"name": "dry"}, "data": {"a": "1"}}
    refusal = http.post(CONFIGMAPS, params={"dryRun": "xyz"}, json=body)
    assert refused(refusal, 422) == (
        'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: "xyz": '
        'supported values: "All"'
    )
    assert http.get(f"{CONFIGMAPS}/dry").status_code == 404
    assert http.post(CONFIGMAPS, params={"dryRun": "All"}, json=body).status_code == 201
    assert http.get(f"{CONFIGMAPS}/dry").status_code == 404
    stored = created(http, body, CONFIGMAPS)
    change = {"data": {"a": "2"}}
    for verb, kind in (("PUT", "UpdateOptions"), ("PATCH", "PatchOptions")):
        sent = {**stored, **change} if verb == "PUT" else change
        response = http.request(verb, f"{CONFIGMAPS}/dry", params={"dryRun": "yes"}, json=sent,
                                headers=MERGE if verb == "PATCH" else {})  # fmt: skip
        assert refused(response, 422).startswith(f'{kind}.meta.k8s.io "" is invalid: dryRun')
    patched = http.patch(f"{CONFIGMAPS}/dry", params={"dryRun": "All"}, json=change, headers=MERGE)
    assert patched.json()["data"] == {"a": "2"}
    assert refused(http.delete(f"{CONFIGMAPS}/dry", params={"dryRun": ""}), 422).startswith(
        'DeleteOptions.meta.k8s.io "" is invalid: dryRun'
    )
    assert http.delete(CONFIGMAPS, params={"dryRun": "All"}).json()["items"][0]["data"] == {
        "a": "1"
    }
    options = {"kind": "DeleteOptions", "apiVersion": "v1", "dryRun": ["All"]}
    assert http.request("DELETE", f"{CONFIGMAPS}/dry", json=options).status_code == 200
    assert http.get(f"{CONFIGMAPS}/dry").json()["data"] == {"a": "1"}, "nothing changed"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_bearer_scheme_is_case_insensitive(api: RunningApi, scheme: str) -> None:
    with api.client(token=None) as anonymous:
        granted = anonymous.get(CONFIGMAPS, headers={"Authorization": f"{scheme} {TOKEN}"})
        assert granted.status_code == 200
        for header in (f"{scheme} wrong", f"Basic {TOKEN}", TOKEN, f"{scheme}{TOKEN}"):
            assert anonymous.get(CONFIGMAPS, headers={"Authorization": header}).status_code == 401


def test_a_request_head_over_64_kib_is_refused(api: RunningApi) -> None:
    def answer(head: bytes) -> bytes:
        with raw_tls(api) as tls:
            tls.sendall(head)
            received = b""
            while data := tls.recv(65536):
                received += data
            return received

    request = f"GET {CONFIGMAPS} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    request += f"Authorization: Bearer {TOKEN}\r\n"
    padding = "X-Padding: " + "p" * 32 * 1024 + "\r\n"
    assert answer(f"{request}{padding}\r\n".encode()).startswith(b"HTTP/1.1 200 ")
    endless = "X-Padding: " + "p" * server.HEAD_BYTES  # and the head never ends
    assert answer(f"{request}{endless}".encode()).startswith(b"HTTP/1.1 400 ")


def test_an_idle_connection_is_closed(start_api: StartApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "IDLE_SECONDS", 1)
    api = start_api()
    with raw_tls(api) as tls:
        tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        received = b""
        while not received.endswith(b"\r\n\r\nok"):
            received += tls.recv(65536)
        tls.settimeout(5)
        try:
            closed = tls.recv(1) == b""
        except ConnectionResetError:
            closed = True
    assert closed
