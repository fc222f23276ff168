"""An offline package index for requirement installs.

pip reads PIP_NO_INDEX and PIP_FIND_LINKS, pointing at wheels made by the test.
"""

import os
import subprocess
import sys
from collections.abc import Callable
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


PythonIn = Callable[[environments.Environment, str], str]


@pytest.fixture
def python_in() -> PythonIn:
    """Run code as a function runs: the environment's site first on ``PYTHONPATH``."""

    def run(environment: environments.Environment, code: str) -> str:
        env = {**os.environ, "PYTHONPATH": environment.python_path()}
        command = [sys.executable, "-c", code]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    return run


@pytest.fixture(scope="session")
def image_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One image cache for the session: the runtime layer is built once."""
    return tmp_path_factory.mktemp("image-cache")


@pytest.fixture
def hello(tmp_path: Path) -> Path:
    """A function directory needing the wheel ``greeting`` (see ``wheelhouse``)."""
    directory = tmp_path / "hello"
    directory.mkdir()
    (directory / "func.yaml").write_text(
        "specVersion: '1'\nname: hello\nsignature: http\nrequirements: [greeting==1.0]\n"
    )
    (directory / "func.py").write_text(
        "from greeting import WORD\n\n\ndef handle(request):\n    return WORD\n"
    )
    (directory / "__pycache__").mkdir()
    (directory / "__pycache__" / "func.cpython-311.pyc").write_bytes(b"stale")
    return directory
