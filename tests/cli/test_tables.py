"""How the CLI words state: ages as kubectl shows them (list's AGE), and func.yaml
examples in the docs that must load."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from unkai.api import funcyaml
from unkai.cli import tables

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
DOCS = Path(__file__).parents[2] / "docs" / "func-yaml.md"


@pytest.mark.parametrize(
    ("ago", "shown"),
    [
        (timedelta(seconds=-3), "0s"),
        (timedelta(seconds=59), "59s"),
        (timedelta(minutes=5), "5m"),
        (timedelta(hours=3), "3h"),
        (timedelta(days=3, hours=5), "3d"),
    ],
)
def test_age(ago: timedelta, shown: str) -> None:
    stamp = (NOW - ago).isoformat().replace("+00:00", "Z")
    assert tables.age(stamp, NOW) == shown


def test_the_func_yaml_reference_example_is_valid() -> None:
    example = re.search(r"```yaml\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert example is not None
    spec = funcyaml.parse(example.group(1))
    assert spec.env == {"GREETING": "hi", "RETRIES": "3"}
