"""Tests for {{name}}, run through the Unkai runtime in-process: `pytest`."""

from pathlib import Path

from unkai.testing import FunctionClient

HERE = Path(__file__).parent


def test_sums_the_numbers() -> None:
    with FunctionClient(HERE) as client:
        response = client.post("/", json={"numbers": [1, 2, 3.5]})
    assert response.status_code == 200
    assert response.json() == {"count": 3, "sum": 6.5}
