"""The ``event`` signature: ``handler(event: dict) -> dict``, JSON in and out.

Aspects: found as ``handler`` with neither signature nor entrypoint in func.yaml; the
JSON body is the event and the return value the JSON reply; an empty body is ``{}``;
a body that is not JSON is 400; an exception is a 500 with an error id.
"""

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
