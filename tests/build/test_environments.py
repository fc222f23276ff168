"""Requirement environments: installed once, found again by content, never half-built.

All installs here are offline: pip reads PIP_NO_INDEX and PIP_FIND_LINKS, pointing at
wheels made by the test.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.wheels import make_wheel

from unkai.build import environments


@pytest.fixture
def wheelhouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    house = tmp_path / "wheels"
    house.mkdir()
    make_wheel(house, name="greeting", version="1.0", module_source="WORD = 'hello'\n")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(house))
    return house


def test_no_requirements_needs_no_install(tmp_path: Path) -> None:
    environment = environments.prepare(["", "  "], root=tmp_path)
    assert environment.site is None
    assert environment.python_path("base") == "base"
    assert not (tmp_path / "envs").exists()


def test_key_ignores_order_and_blank_lines() -> None:
    assert environments.environment_key(["b", "a", ""]) == environments.environment_key(["a", "b"])
    assert environments.environment_key(["a"]) != environments.environment_key(["a==2"])


def test_installs_then_reuses_without_pip(tmp_path: Path, wheelhouse: Path) -> None:
    root = tmp_path / "cache"
    assert environments.lookup(["greeting==1.0"], root=root) is None
    first = environments.prepare(["greeting==1.0"], root=root)
    assert first.site is not None
    assert (first.site / "greeting" / "__init__.py").exists()
    for wheel in wheelhouse.iterdir():  # a second install would now fail
        wheel.unlink()
    again = environments.prepare(["greeting==1.0"], root=root)
    assert again == first
    env = {**os.environ, "PYTHONPATH": again.python_path()}
    printed = subprocess.run(
        [sys.executable, "-c", "import greeting; print(greeting.WORD)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert printed.stdout.strip() == "hello"


def test_failed_install_says_why_and_leaves_nothing(tmp_path: Path, wheelhouse: Path) -> None:
    root = tmp_path / "cache"
    with pytest.raises(environments.RequirementsError, match="no-such-package"):
        environments.prepare(["no-such-package==9"], root=root)
    assert list((root / "envs").iterdir()) == []
