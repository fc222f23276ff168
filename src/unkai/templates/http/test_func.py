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
