"""The ``unkai init`` templates, scaffolded and served through the runtime.

Aspects: the tests of the four templates pass when run together in one pytest session,
each against its own function; the http template answers a body that is not a JSON
object with 400 and a message; the cloudevent template replies to binary data
(``data_base64``) and labels its replies ``application/json``.
"""

import base64
import json
from pathlib import Path

import pytest
from tests.support.cli import function_tests

from unkai.cli.init import TEMPLATES, scaffold
from unkai.testing import FunctionClient


@pytest.mark.slow
def test_the_tests_of_every_template_pass_in_one_session(tmp_path: Path) -> None:
    directories = [tmp_path / f"f-{template}" for template in TEMPLATES]
    for directory, template in zip(directories, TEMPLATES, strict=True):
        scaffold(directory, name=directory.name, template=template)
    function_tests(*directories, cwd=tmp_path, options=("--import-mode=importlib",))


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"name=Ada", "application/x-www-form-urlencoded"),
        (b"Ada", "text/plain"),
        (b'"Ada"', "application/json"),
        (b'["Ada"]', "application/json"),
        (b"\xff{", "application/json"),
    ],
)
def test_the_http_template_answers_400_to_a_body_not_a_json_object(
    tmp_path: Path, body: bytes, content_type: str
) -> None:
    scaffold(tmp_path / "greeter", name="greeter", template="http")
    with FunctionClient(tmp_path / "greeter") as client:
        response = client.post("/", content=body, headers={"content-type": content_type})
    assert response.status_code == 400
    assert response.json() == {"error": 'send a JSON object, like {"name": "Ada"}'}


def test_the_cloudevent_template_replies_to_binary_data(tmp_path: Path) -> None:
    scaffold(tmp_path / "echo", name="echo", template="cloudevent")
    event = {
        "specversion": "1.0",
        "id": "1",
        "type": "com.example.blob",
        "source": "/tests",
        "data_base64": base64.b64encode(b"\x00\x01\x02").decode(),
    }
    with FunctionClient(tmp_path / "echo") as client:
        response = client.post(
            "/",
            content=json.dumps(event),
            headers={"content-type": "application/cloudevents+json"},
        )
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["datacontenttype"] == "application/json"
    assert reply["data"] == {"received": {"bytes": 3}, "from": "/tests"}
