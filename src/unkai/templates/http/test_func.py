"""Tests for {{name}}, run through the Unkai runtime in-process: `pytest`."""

from pathlib import Path

from unkai.testing import FunctionClient

HERE = Path(__file__).parent


def test_greets_the_world_by_default() -> None:
    with FunctionClient(HERE) as client:
        response = client.get("/")
    assert response.status_code == 200
    assert response.json() == {"message": "Hello, world!"}


def test_greets_by_name_from_json() -> None:
    with FunctionClient(HERE) as client:
        response = client.post("/", json={"name": "Ada"})
    assert response.json() == {"message": "Hello, Ada!"}


def test_rejects_a_body_that_is_not_a_json_object() -> None:
    with FunctionClient(HERE) as client:
        form = client.post("/", data={"name": "Ada"})
        json_list = client.post("/", json=["Ada"])
    assert (form.status_code, json_list.status_code) == (400, 400)
    assert "JSON object" in form.json()["error"]
