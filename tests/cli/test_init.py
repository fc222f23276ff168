"""``unkai init``: every template scaffolds a function whose own tests pass.

Aspects: files written with the name filled in; refusing bad names and overwrites;
each scaffold's test_func.py passes when run with pytest, as a user would run it.
"""

from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.support.cli import function_tests, unkai, user_env

from unkai.api import funcyaml
from unkai.cli.main import cli

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
    (tmp_path / "mine" / "requirements.txt").write_text("precious\n")
    result = unkai("init", "mine", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "refusing to overwrite existing files: mine/requirements.txt" in result.stderr
    assert (tmp_path / "mine" / "requirements.txt").read_text() == "precious\n"


def test_in_a_folder_with_code_it_says_how_to_serve_that_code(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import json\n\ndef lambda_handler(event, context):\n    pass\n"
    )
    result = CliRunner().invoke(cli, ["init", "orders", "--path", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path} has code already (app.py)" in result.stderr
    assert "(callables found: app:lambda_handler)" in result.stderr
    assert "  name: orders\n  entrypoint: app:lambda_handler\n" in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["app.py"]


def test_in_a_function_folder_it_says_how_to_run_and_deploy_it(tmp_path: Path) -> None:
    (tmp_path / "func.yaml").write_text("name: orders\n")
    result = CliRunner().invoke(cli, ["init", "orders", "--path", str(tmp_path)])
    assert result.exit_code == 1
    assert f"`unkai run {tmp_path}`, deploy it with `unkai deploy {tmp_path}`" in result.stderr


def test_unknown_template_is_a_usage_error(tmp_path: Path) -> None:
    result = unkai("init", "x", "--template", "grpc", env=user_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert "grpc" in result.stderr
