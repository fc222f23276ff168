"""`unkai up/status/kubeconfig/down` and the resource commands, as a user runs them.

Aspects: up --detach starts a platform that status reports and down stops; the token
and kubeconfig are owner-only; a second up is refused; the resource commands reach it
through its record in the data dir, or through a merged kubeconfig context; everything
survives a restart, and the controllers carry on after it; a foreground up started as a
background job (SIGINT ignored) still stops on Ctrl-C. What each resource command
prints, and its errors, is tested in-process: test_resources.py.
"""

import json
import signal
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from lightkube import Client, KubeConfig
from tests.support.cli import SERVICE, background, unkai, user_env

from unkai.kube import kinds


@pytest.fixture
def home(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = user_env(tmp_path, KUBECONFIG=str(tmp_path / "kube" / "config"))
    yield env
    unkai("down", env=env)


def start(env: dict[str, str]) -> None:
    started = unkai("up", "--detach", "--api-port", "0", "--port", "0", env=env)
    assert started.returncode == 0, started.stdout + started.stderr
    assert "Unkai is up" in started.stdout


def revisions(env: dict[str, str]) -> list[str]:
    listed = unkai("revisions", "hello", "-o", "json", env=env)
    assert listed.returncode == 0, listed.stderr
    return sorted(item["metadata"]["name"] for item in json.loads(listed.stdout)["items"])


def wait_for_revisions(env: dict[str, str], names: list[str]) -> None:
    for _ in range(100):
        if revisions(env) == names:
            return
    assert revisions(env) == names


def test_lifecycle_and_resource_commands(tmp_path: Path, home: dict[str, str]) -> None:
    assert unkai("status", env=home).returncode == 1
    start(home)
    status = unkai("status", env=home)
    assert status.returncode == 0
    assert "Unkai is running" in status.stdout
    again = unkai("up", "--detach", "--api-port", "0", "--port", "0", env=home)
    assert again.returncode == 1
    assert "already running" in again.stderr
    for secret in ("token", "kubeconfig"):
        mode = stat.S_IMODE((tmp_path / "data" / "platform" / secret).stat().st_mode)
        assert mode == 0o600, secret

    manifest = tmp_path / "hello.yaml"
    manifest.write_text(SERVICE.format(version="1"))
    applied = unkai("apply", "-f", str(manifest), env=home)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip() == "service.serving.knative.dev/hello created"
    wait_for_revisions(home, ["hello-00001"])
    manifest.write_text(SERVICE.format(version="2"))
    assert unkai("apply", "-f", str(manifest), env=home).returncode == 0
    wait_for_revisions(home, ["hello-00001", "hello-00002"])

    listed = unkai("list", env=home)
    assert "http://hello.default.localhost" in listed.stdout

    printed = unkai("kubeconfig", env=home)
    config = yaml.safe_load(printed.stdout)
    assert config["current-context"] == "unkai"
    assert config["clusters"][0]["cluster"]["server"].startswith("https://127.0.0.1:")
    merged = unkai("kubeconfig", "--merge", env=home)
    assert merged.returncode == 0
    assert yaml.safe_load((tmp_path / "kube" / "config").read_text())["contexts"][0]["name"] == (
        "unkai"
    )
    by_context = unkai("list", "--context", "unkai", env=home)
    assert "hello" in by_context.stdout

    stopped = unkai("down", env=home)
    assert "Unkai stopped" in stopped.stdout
    assert unkai("status", env=home).returncode == 1

    start(home)  # everything is still there, and the controllers carry on
    assert revisions(home) == ["hello-00001", "hello-00002"]
    manifest.write_text(SERVICE.format(version="3"))
    assert unkai("apply", "-f", str(manifest), env=home).returncode == 0
    wait_for_revisions(home, ["hello-00001", "hello-00002", "hello-00003"])

    deleted = unkai("delete", "hello", env=home)
    assert deleted.returncode == 0
    config = KubeConfig.from_file(tmp_path / "data" / "platform" / "kubeconfig")
    with Client(config) as client:
        for _ in range(200):
            if not list(client.list(kinds.resource(kinds.REVISION), namespace="default")):
                break
            time.sleep(0.05)
        assert list(client.list(kinds.resource(kinds.REVISION), namespace="default")) == []
    missing = unkai("describe", "hello", env=home)
    assert missing.returncode == 1
    assert "not found" in missing.stderr


def test_no_platform_and_no_kubeconfig_is_explained(home: dict[str, str]) -> None:
    result = unkai("list", env=home)
    assert result.returncode == 1
    assert "unkai up" in result.stderr


def test_a_taken_port_is_explained(home: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = unkai("up", "--port", port, "--api-port", "0", env=home)
    assert result.returncode == 1
    assert "address already in use" in result.stderr
    assert "--port" in result.stderr
    assert unkai("status", env=home).returncode == 1


def test_a_detached_start_that_fails_shows_only_its_own_log(home: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        first = unkai("up", "--detach", "--port", port, "--api-port", "0", env=home)
        second = unkai("up", "--detach", "--port", port, "--api-port", "0", env=home)
    assert first.returncode == second.returncode == 1
    assert "the platform exited while starting" in second.stderr
    assert second.stderr.count("address already in use") == 1, second.stderr


def test_up_stops_on_sigint_even_when_started_with_it_ignored(home: dict[str, str]) -> None:
    """``unkai up &`` from a script, nohup or CI inherits SIGINT ignored; kill -INT must
    still stop it cleanly (its instances die with it: tests/runners/test_lifeline.py)."""
    args = ("up", "--api-port", "0", "--port", "0")
    with background(*args, env=home, sigint_ignored=True) as (process, output):
        output.wait_for("Unkai is up")
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
    assert unkai("status", env=home).returncode == 1
