"""``unkai init``: every template scaffolds a function whose own tests pass.

Aspects: files written with the name filled in; refusing bad names and overwrites;
each scaffold's test_func.py passes when run with pytest, as a user would run it.
"""

from pathlib import Path

import pytest
from tests.support.cli import function_tests, unkai, user_env

from unkai.api import funcyaml

TEMPLATES = ["http", "cloudevent", "asgi", "event"]


@pytest.mark.parametrize("template", TEMPLATES)
def test_scaffold_passes_its_own_tests(tmp_path: Path, template: str) -> None:
    env = user_env(tmp_path)
    created = unkai("init", f"my-{template}", "--template", template, env=env, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    directory = tmp_path / f"my-{template}"
    names = sorted(path.name for path in directory.iterdir())
    assert names == ["func.py", "func.yaml", "requirements.txt", "test_func.py"]
    spec = funcyaml.load(directory)
    assert spec.name == f"my-{template}"
    assert spec.signature == funcyaml.Signature(template)
    function_tests(directory, cwd=directory, env=env)


def test_refuses_an_invalid_name(tmp_path: Path) -> None:
    result = unkai("init", "Bad_Name", env=user_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 1
    assert "not a valid function name" in result.stderr
    assert not (tmp_path / "Bad_Name").exists()


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    env = user_env(tmp_path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "func.py").write_text("precious = True\n")
    result = unkai("init", "mine", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "refusing to overwrite" in result.stderr
    assert (tmp_path / "mine" / "func.py").read_text() == "precious = True\n"


def test_unknown_template_is_a_usage_error(tmp_path: Path) -> None:
    result = unkai("init", "x", "--template", "grpc", env=user_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert "grpc" in result.stderr
