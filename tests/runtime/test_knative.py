"""Knative func's Python projects, served unchanged: both templates' contracts.

The fixtures ``knative_http`` and ``knative_cloudevents`` recreate func's Python
templates from their documented shape: func.yaml in func's own format, a
``pyproject.toml``, and the code in the ``function/`` package exporting ``new()``. No
Unkai ``entrypoint`` or ``signature`` is written anywhere.

Aspects: the http template answers "OK" through the runtime; ``start(cfg)`` sees
``run.envs``; ``ready()`` saying no turns readiness to 503 with its message; ``stop()``
runs on SIGTERM. The cloudevents template finds the decoded event in ``scope["event"]``
and its ``send(event)`` replies in structured mode, ``send.binary`` in binary mode,
``send(event, status)`` with that status and ``send.http`` raw; a request that is not a
CloudEvent, or a batch, gets 400 with the reason; an exception is a 500 with an error
id; a module-level ``handle(scope, receive, send)`` gets the decoded event as ``new()``'s
instance does. The ``function/`` package is found without func.yaml too.
"""

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import http as binding
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from tests.support.servers import FUNCTIONS, RunningFunction, Serve

from unkai.runtime import loader
from unkai.testing import FunctionClient


@pytest.fixture(scope="module")
def http_function(serve_shared: Serve) -> RunningFunction:
    return serve_shared("knative_http")


@pytest.fixture(scope="module")
def events(serve_shared: Serve) -> Iterator[httpx2.Client]:
    server = serve_shared("knative_cloudevents")
    with httpx2.Client(base_url=server.url) as client:
        yield client


def event(kind: str, event_id: str = "42") -> CloudEvent:
    attributes = {"type": kind, "source": "/tests", "id": event_id}
    return CloudEvent({**attributes, "datacontenttype": "application/json"}, {"n": 1})


def post(client: httpx2.Client, message: binding.HTTPMessage) -> httpx2.Response:
    return client.post("/", headers=message.headers, content=message.body)


def received(response: httpx2.Response) -> BaseCloudEvent:
    return binding.from_http_event(binding.HTTPMessage(dict(response.headers), response.content))


def test_the_http_template_answers_ok(http_function: RunningFunction) -> None:
    response = httpx2.get(http_function.url + "/")
    assert (response.status_code, response.text) == (200, "OK")
    assert response.headers["content-type"] == "text/plain"


def test_start_gets_run_envs_in_cfg(http_function: RunningFunction) -> None:
    assert httpx2.get(http_function.url + "/state").json() == {"greeting": "hello from run.envs"}


def test_alive_and_ready_back_the_probes(serve: Serve) -> None:
    server = serve("knative_http")
    assert httpx2.get(server.url + "/health/liveness").text == "Alive\n"
    assert httpx2.get(server.url + "/health/readiness").text == "Ready\n"
    httpx2.post(server.url + "/unready")
    unready = httpx2.get(server.url + "/health/readiness")
    assert (unready.status_code, unready.text) == (503, "Not ready\n")


def test_stop_runs_on_sigterm(serve: Serve, tmp_path: Path) -> None:
    marker = tmp_path / "stopped"
    server = serve("knative_http", env={"STOP_MARKER": str(marker)})
    assert server.stop() == 0
    assert marker.read_text() == "stopped"


def test_the_event_is_decoded_into_the_scope_and_the_reply_is_structured(
    events: httpx2.Client,
) -> None:
    response = post(events, binding.to_binary_event(event("com.example.ping", "7")))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/cloudevents+json")
    reply = received(response)
    assert (reply.get_type(), reply.get_source(), reply.get_id()) == (
        "function.response",
        "function",
        "response-7",
    )
    assert reply.get_data() == {"message": "OK", "got": {"n": 1}}


def test_a_structured_request_is_decoded_too(events: httpx2.Client) -> None:
    response = post(events, binding.to_structured_event(event("com.example.ping", "8")))
    assert received(response).get_id() == "response-8"


def test_send_binary_replies_in_binary_mode(events: httpx2.Client) -> None:
    response = post(events, binding.to_structured_event(event("com.example.binary", "9")))
    assert response.status_code == 200
    assert response.headers["ce-id"] == "response-9"
    assert response.headers["ce-type"] == "function.response"
    assert json.loads(response.content) == {"message": "OK", "got": {"n": 1}}


def test_send_takes_a_status(events: httpx2.Client) -> None:
    response = post(events, binding.to_binary_event(event("com.example.status")))
    assert response.status_code == 201
    assert received(response).get_type() == "function.response"


def test_send_http_sends_a_raw_message(events: httpx2.Client) -> None:
    response = post(events, binding.to_binary_event(event("com.example.raw")))
    assert (response.status_code, response.text, response.headers["x-raw"]) == (200, "raw", "1")


@pytest.mark.parametrize(
    ("headers", "body", "says"),
    [
        ({"content-type": "text/plain"}, b"hello", "no ce-specversion header"),
        ({"content-type": "application/cloudevents+json"}, b"{}", "missing required"),
    ],
)
def test_a_request_that_is_not_a_cloudevent_is_400(
    events: httpx2.Client, headers: dict[str, str], body: bytes, says: str
) -> None:
    response = events.post("/", headers=headers, content=body)
    assert response.status_code == 400
    assert says in response.text


def test_a_batch_is_400(events: httpx2.Client) -> None:
    body = json.dumps([json.loads(JSONFormat().write(event("com.example.ping")))])
    headers = {"content-type": "application/cloudevents-batch+json"}
    response = events.post("/", headers=headers, content=body)
    assert response.status_code == 400
    assert response.text == "Bad Request: send one event, not a batch\n"


def test_an_exception_is_500_with_an_error_id(events: httpx2.Client) -> None:
    response = post(events, binding.to_binary_event(event("com.example.fail")))
    assert response.status_code == 500
    assert re.search(r"error id [0-9a-f]{16}", response.text)
    assert "the function failed" not in response.text


def test_the_function_package_is_found_without_func_yaml(tmp_path: Path) -> None:
    directory = tmp_path / "plain"
    shutil.copytree(FUNCTIONS / "knative_http" / "function", directory / "function")
    target = loader.load(directory, loader.load_spec(directory))
    try:
        assert (target.entrypoint, target.signature) == ("function:new", "asgi")
    finally:
        loader.forget(directory, ["function", "function.func"])


def test_a_module_level_handle_gets_the_event_too(tmp_path: Path) -> None:
    directory = tmp_path / "static"
    (directory / "function").mkdir(parents=True)
    (directory / "function" / "__init__.py").write_text(
        "from cloudevents.core.v1.event import CloudEvent\n\n"
        "async def handle(scope, receive, send):\n"
        "    got = scope['event']\n"
        "    reply = {'type': 'static.reply', 'source': '/static', 'id': got.get_id()}\n"
        "    await send.binary(CloudEvent(reply, {'type': got.get_type()}))\n"
    )
    (directory / "func.yaml").write_text(
        "specVersion: 0.36.0\nname: static\ncreated: 2026-12-05T09:00:00Z\ninvoke: cloudevent\n"
    )
    message = binding.to_binary_event(event("com.example.ping", "11"))
    with FunctionClient(directory) as client:
        response = client.post("/", headers=message.headers, content=message.body)
    assert response.status_code == 200
    assert (response.headers["ce-type"], response.headers["ce-id"]) == ("static.reply", "11")
    assert response.json() == {"type": "com.example.ping"}
