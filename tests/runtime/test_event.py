"""The ``event`` signature: ``handler(event: dict) -> dict``, JSON in and out.

Aspects: found as ``handler`` with neither signature nor entrypoint in func.yaml; the
JSON body is the event and the return value the JSON reply; an empty body is ``{}``;
a body that is not JSON is 400; an exception is a 500 with an error id, and so is a
return value that is not valid JSON (NaN), with a log line saying so; a
``handler(event, context)`` is found as event too, and gets a Lambda-like context.
"""

import re
import uuid

import httpx2
import pytest
from tests.support.servers import RunningFunction, Serve


@pytest.fixture(scope="module")
def server(serve_shared: Serve) -> RunningFunction:
    return serve_shared("event_json")


def test_json_in_json_out(server: RunningFunction) -> None:
    response = httpx2.post(server.url, json={"a": 2, "b": 3})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"sum": 5, "keys": ["a", "b"]}


def test_an_empty_body_is_an_empty_event(server: RunningFunction) -> None:
    assert httpx2.post(server.url).json() == {"sum": 0, "keys": []}


def test_a_body_that_is_not_json_is_400(server: RunningFunction) -> None:
    response = httpx2.post(server.url, content=b"{oops")
    assert response.status_code == 400
    assert "not JSON" in response.text


def test_an_exception_is_500_with_an_error_id(server: RunningFunction) -> None:
    response = httpx2.post(server.url, json={"fail": True})
    assert response.status_code == 500
    assert "error id" in response.text


def test_nan_is_not_sent_as_json_but_a_500_saying_why(server: RunningFunction) -> None:
    response = httpx2.post(server.url, json={"nan": True})
    assert response.status_code == 500
    error_id = re.search(r"error id ([0-9a-f]{16})", response.text).group(1)  # type: ignore[union-attr]
    line = server.wait_for_log(lambda line: line.get("error_id") == error_id)
    assert "handler returned a value that is not valid JSON" in line["message"]


def test_a_handler_taking_a_context_gets_one(serve: Serve) -> None:
    platform = {"K_SERVICE": "ctx-svc", "K_REVISION": "ctx-svc-00002"}
    server = serve("event_context", env=platform)  # deploy.timeout: 60
    headers = {"x-demo": "yes", "x-request-id": "req-1"}
    reply = httpx2.post(server.url, json={"n": 1}, headers=headers).json()
    assert reply["event"] == {"n": 1}
    assert (reply["function_name"], reply["function_version"]) == ("ctx-svc", "ctx-svc-00002")
    assert (reply["request_id"], reply["header"]) == ("req-1", "yes")
    assert 55_000 < reply["remaining_ms"] <= 60_000
    limit = reply["memory_limit_in_mb"]
    assert limit is None or limit > 0
    generated = httpx2.post(server.url).json()["request_id"]
    assert uuid.UUID(generated)  # without X-Request-Id, a fresh id per request
    assert generated != httpx2.post(server.url).json()["request_id"]
