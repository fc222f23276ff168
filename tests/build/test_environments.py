"""Requirement environments: installed once, found again by content, never half-built.

All installs here are offline (the ``wheelhouse`` fixture). Local content in the key:
test_local_requirements; the runtime's own packages: test_runtime_pins.
"""

from pathlib import Path

import pytest
from tests.build.conftest import PythonIn

from unkai.build import environments


def test_no_requirements_needs_no_install(tmp_path: Path) -> None:
    environment = environments.prepare(["", "  "], root=tmp_path)
    assert environment.site is None
    assert environment.python_path("base") == "base"
    assert not (tmp_path / "envs").exists()


def test_key_ignores_order_and_blank_lines() -> None:
    assert environments.environment_key(["b", "a", ""]) == environments.environment_key(["a", "b"])
    assert environments.environment_key(["a"]) != environments.environment_key(["a==2"])


def test_installs_then_reuses_without_pip(
    tmp_path: Path, wheelhouse: Path, python_in: PythonIn
) -> None:
    root = tmp_path / "cache"
    assert environments.lookup(["greeting==1.0"], root=root) is None
    first = environments.prepare(["greeting==1.0"], root=root)
    assert first.site is not None
    assert (first.site / "greeting" / "__init__.py").exists()
    for wheel in wheelhouse.iterdir():  # a second install would now fail
        wheel.unlink()
    again = environments.prepare(["greeting==1.0"], root=root)
    assert again == first
    assert python_in(again, "import greeting; print(greeting.WORD)") == "hello"


def test_failed_install_says_why_and_leaves_nothing(tmp_path: Path, wheelhouse: Path) -> None:
    root = tmp_path / "cache"
    with pytest.raises(environments.RequirementsError, match="no-such-package"):
        environments.prepare(["no-such-package==9"], root=root)
    assert list((root / "envs").iterdir()) == []
