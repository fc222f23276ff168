"""Tests for {{name}}, run through the Unkai runtime in-process: `pytest`."""

from pathlib import Path

from unkai.testing import FunctionClient

HERE = Path(__file__).parent


def test_answers_with_the_path() -> None:
    with FunctionClient(HERE) as client:
        response = client.get("/orders")
    assert response.status_code == 200
    assert response.json() == {"message": "Hello from /orders"}


def test_reports_ready() -> None:
    with FunctionClient(HERE) as client:
        assert client.get("/health/readiness").status_code == 200
