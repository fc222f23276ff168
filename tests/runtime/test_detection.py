"""Signature detection and the arity check, through the runtime (``FunctionClient``).

Aspects: a first parameter annotated with a generic ``dict`` (``dict[str, Any]``,
``typing.Dict``), also as a string (``from __future__ import annotations``, even when
the name is only imported for type checking), means the event signature; string
annotations of ``Request`` and ``CloudEvent`` are read too; ``handler(event, context)``
(Lambda) and ``handle(event, context)`` (OpenFaaS) are event functions that get a
context; a first parameter with a default still decides; a callable its signature
cannot call stops the load with a message naming it and the shapes accepted, whether
the signature was detected or set in func.yaml, and so does a sync function of three
arguments (no ASGI app).
"""

import textwrap
from pathlib import Path

import pytest
from tests.support.servers import json_lines, run_to_exit

from unkai.runtime import LoadError
from unkai.testing import FunctionClient

FUTURE = "from __future__ import annotations\n"
TYPE_CHECKING_ONLY = FUTURE + "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    {}\n"


def function(parent: Path, source: str, func_yaml: str = "") -> Path:
    directory = parent / "fn"
    directory.mkdir(parents=True)
    (directory / "func.py").write_text(textwrap.dedent(source))
    if func_yaml:
        (directory / "func.yaml").write_text(func_yaml)
    return directory


@pytest.mark.parametrize(
    "source",
    [
        "from typing import Any\ndef handle(event: dict[str, Any]):\n    return {'got': event}",
        "import typing\ndef handle(event: typing.Dict[str, int]):\n    return {'got': event}",
        FUTURE
        + "from typing import Any\ndef handle(event: dict[str, Any]):\n    return {'got': event}",
        TYPE_CHECKING_ONLY.format("from typing import Any")
        + "def handle(event: dict[str, Any]) -> dict[str, Any]:\n    return {'got': event}",
    ],
    ids=["builtin-generic", "typing-Dict", "future", "type-checking-only"],
)
def test_a_dict_annotation_of_any_spelling_is_the_event_signature(
    tmp_path: Path, source: str
) -> None:
    with FunctionClient(function(tmp_path, source)) as client:
        response = client.post("/", json={"n": 1})
    assert response.status_code == 200, response.text  # a cloudevent function says 400
    assert response.json() == {"got": {"n": 1}}


def test_string_annotations_of_request_and_cloudevent_are_read(tmp_path: Path) -> None:
    http = TYPE_CHECKING_ONLY.format("from starlette.requests import Request")
    http += "def handle(x: Request) -> str:\n    return 'http'\n"
    with FunctionClient(function(tmp_path / "a", http)) as client:
        assert client.get("/").text == "http"
    cloudevent = FUTURE + "from cloudevents.core.v1.event import CloudEvent\n"
    cloudevent += "def handle(x: CloudEvent) -> CloudEvent | None:\n    return None\n"
    with FunctionClient(function(tmp_path / "b", cloudevent)) as client:
        response = client.post("/", json={"n": 1})
    assert response.status_code == 400
    assert "not a CloudEvent" in response.text


@pytest.mark.parametrize("name", ["handler", "handle"])  # Lambda's, OpenFaaS's
def test_event_and_context_is_the_event_signature_with_a_context(tmp_path: Path, name: str) -> None:
    source = f"""
        def {name}(event, context):
            return {{"got": event, "function": context.function_name}}
    """
    with FunctionClient(function(tmp_path, source, "name: lambda-like\n")) as client:
        response = client.post("/", json={"n": 1})
    assert response.status_code == 200, response.text
    assert response.json() == {"got": {"n": 1}, "function": "lambda-like"}


@pytest.mark.parametrize(
    ("source", "func_yaml", "says"),
    [
        (
            "def handle(request, context):\n    pass\n",
            "name: fn\nsignature: http\n",
            "func:handle takes (request, context), but the http signature calls it as"
            " handle(request)",
        ),
        (
            "def handler(a, b, c):\n    pass\n",
            "name: fn\nsignature: event\n",
            "func:handler takes (a, b, c), but the event signature calls it as"
            " handler(event) or handler(event, context)",
        ),
        (
            "def handle():\n    pass\n",
            "name: fn\nsignature: cloudevent\n",
            "func:handle takes (), but the cloudevent signature calls it as handle(event)"
            " or handle(scope, receive, send)",
        ),
        (
            "def handle(a, b, c, d):\n    pass\n",
            "",
            "cannot tell how to call func:handle: name its parameter",
        ),
    ],
)
def test_a_callable_its_signature_cannot_call_fails_to_load(
    tmp_path: Path, source: str, func_yaml: str, says: str
) -> None:
    with pytest.raises(LoadError) as raised:
        FunctionClient(function(tmp_path, source, func_yaml))
    assert says in str(raised.value)


def test_the_process_exits_2_saying_which_shapes_are_accepted(tmp_path: Path) -> None:
    result = run_to_exit(function(tmp_path, "def handle(a, b, c, d):\n    pass\n"))
    assert result.returncode == 2
    [error] = [line for line in json_lines(result.stderr) if line["level"] == "error"]
    assert "cannot tell how to call func:handle" in error["message"]
    assert "event: handler(event) or handler(event, context)" in error["message"]


def test_a_sync_function_of_three_arguments_is_no_asgi_app(tmp_path: Path) -> None:
    with pytest.raises(LoadError) as raised:
        FunctionClient(function(tmp_path, "def handler(event, context, extra):\n    pass\n"))
    assert "func:handler: handler(scope, receive, send) must be `async def`" in str(raised.value)


def test_a_first_parameter_with_a_default_still_decides(tmp_path: Path) -> None:
    source = "def handle(request=None):\n    return request.method\n"
    with FunctionClient(function(tmp_path, source)) as client:
        assert client.get("/").text == "GET"


def test_a_missing_package_is_named_with_the_line_and_where_to_add_it(tmp_path: Path) -> None:
    source = "import json\nimport yaml_not_installed.loader\n\ndef handle(request):\n    pass\n"
    with pytest.raises(LoadError) as raised:
        FunctionClient(function(tmp_path, source))
    assert str(raised.value) == (
        "importing func failed (func.py, line 2): no module named 'yaml_not_installed'; add the"
        " package that provides it to the function's requirements (requirements.txt, or"
        " `requirements:` in func.yaml)"
    )
