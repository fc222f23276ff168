"""`unkai deploy`, `invoke` and `logs` against a real `unkai up`, as a user runs them.

Aspects: deploy prints a URL that serves the function; re-deploying an unchanged
function creates no revision while an edit creates one; invoke reaches a
`*.localhost` URL; logs show the instances' output; a function that cannot start makes
deploy fail with the revision's reason instead of waiting forever; after a restart of
the platform no revision runs until a request asks for it.
"""

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.cli import unkai, user_env
from tests.support.processes import revision_processes

URL = re.compile(r"http://hello\.default\.localhost:\d+")


@pytest.fixture
def home(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = user_env(tmp_path)
    started = unkai("up", "--detach", "--api-port", "0", "--port", "0", env=env)
    assert started.returncode == 0, started.stdout + started.stderr
    yield env
    unkai("down", env=env)


def revisions(env: dict[str, str]) -> list[str]:
    listed = json.loads(unkai("revisions", "hello", "-o", "json", env=env).stdout)
    return sorted(item["metadata"]["name"] for item in listed["items"])


def test_deploy_serve_redeploy_and_logs(tmp_path: Path, home: dict[str, str]) -> None:
    assert unkai("init", "hello", env=home, cwd=tmp_path).returncode == 0
    function = tmp_path / "hello"
    deployed = unkai("deploy", str(function), env=home)
    assert deployed.returncode == 0, deployed.stderr
    url = URL.search(deployed.stdout)
    assert url is not None, deployed.stdout
    called = unkai("invoke", url.group(0) + "/?name=Ada", env=home)
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout) == {"message": "Hello, Ada!"}

    again = unkai("deploy", str(function), env=home)
    assert again.returncode == 0, again.stderr
    assert revisions(home) == ["hello-00001"]

    source = function / "func.py"
    source.write_text(source.read_text().replace("Hello,", "Howdy,"))
    assert unkai("deploy", str(function), env=home).returncode == 0
    assert revisions(home) == ["hello-00001", "hello-00002"]
    assert '"Howdy, Ada!"' in unkai("invoke", url.group(0) + "/?name=Ada", env=home).stdout

    logs = unkai("logs", "hello", env=home)
    assert logs.returncode == 0
    assert "function started" in logs.stdout
    only_second = unkai("logs", "hello", "--revision", "hello-00002", env=home)
    assert "hello-00002-" in only_second.stdout
    assert "hello-00001-" not in only_second.stdout


def test_a_function_that_cannot_start_fails_the_deploy(
    tmp_path: Path, home: dict[str, str]
) -> None:
    assert unkai("init", "hello", env=home, cwd=tmp_path).returncode == 0
    (tmp_path / "hello" / "func.py").write_text("raise RuntimeError('no database')\n")
    deployed = unkai("deploy", str(tmp_path / "hello"), "--timeout", "60", env=home)
    assert deployed.returncode == 1
    assert "not ready" in deployed.stderr
    assert "no database" in deployed.stderr


def test_deploy_needs_a_valid_func_yaml(tmp_path: Path, home: dict[str, str]) -> None:
    (tmp_path / "func.yaml").write_text("name: Bad Name\n")
    deployed = unkai("deploy", str(tmp_path), env=home)
    assert deployed.returncode == 1
    assert "line 1: name:" in deployed.stderr


def revision(env: dict[str, str], name: str) -> dict[str, Any]:
    listed = json.loads(unkai("revisions", name.rsplit("-", 1)[0], "-o", "json", env=env).stdout)
    found: dict[str, Any] = next(r for r in listed["items"] if r["metadata"]["name"] == name)
    return found


def test_a_restart_wakes_no_revision_until_a_request_comes(
    tmp_path: Path, home: dict[str, str]
) -> None:
    assert unkai("init", "hello", env=home, cwd=tmp_path).returncode == 0
    assert unkai("deploy", str(tmp_path / "hello"), env=home).returncode == 0
    assert unkai("down", env=home).returncode == 0
    assert revision_processes("hello-00001", data_dir=home["UNKAI_DATA_DIR"]) == []

    started = unkai("up", "--detach", "--api-port", "0", "--port", "0", env=home)
    assert started.returncode == 0, started.stderr
    deadline = time.monotonic() + 30  # until the new platform has reconciled it
    while revision(home, "hello-00001")["status"].get("actualReplicas") != 0:
        assert time.monotonic() < deadline, "the revision was never reconciled"
        time.sleep(0.2)
    time.sleep(1)  # a revision given its initial scale would be starting by now
    assert revision_processes("hello-00001", data_dir=home["UNKAI_DATA_DIR"]) == []
    service = json.loads(unkai("describe", "hello", "-o", "json", env=home).stdout)
    ready = [c for c in service["status"]["conditions"] if c["type"] == "Ready"]
    assert ready[0]["status"] == "True", service["status"]  # at zero, still ready
    called = unkai("invoke", service["status"]["url"] + "/?name=Ada", env=home)
    assert json.loads(called.stdout) == {"message": "Hello, Ada!"}, called.stderr
    assert revision_processes("hello-00001", data_dir=home["UNKAI_DATA_DIR"]) != []
