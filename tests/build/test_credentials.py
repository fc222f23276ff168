"""Registry credentials from docker's config file and credential helpers."""

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from unkai.build.credentials import Credentials, CredentialsError, for_registry
from unkai.build.references import DOCKER_HUB


def _config(tmp_path: Path, document: dict[str, object]) -> dict[str, str]:
    (tmp_path / "config.json").write_text(json.dumps(document))
    kept = {
        k: v for k, v in os.environ.items() if k not in ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR")
    }
    return {**kept, "DOCKER_CONFIG": str(tmp_path), "PATH": f"{tmp_path}:{os.environ['PATH']}"}


def _helper(tmp_path: Path, name: str, script: str) -> None:
    program = tmp_path / f"docker-credential-{name}"
    program.write_text(f"#!/bin/sh\n{script}\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)


def test_auths_entry_is_read_for_its_registry(tmp_path: Path) -> None:
    auth = base64.b64encode(b"ci:pa:ss").decode()
    env = _config(tmp_path, {"auths": {"registry.example:5000": {"auth": auth}}})
    assert for_registry("registry.example:5000", env) == Credentials("ci", "pa:ss")
    assert for_registry("other.example", env) is None


def test_docker_hub_is_keyed_by_its_v1_url(tmp_path: Path) -> None:
    auth = base64.b64encode(b"me:token").decode()
    env = _config(tmp_path, {"auths": {"https://index.docker.io/v1/": {"auth": auth}}})
    assert for_registry(DOCKER_HUB, env) == Credentials("me", "token")


def test_a_credential_helper_is_asked_with_the_server_on_stdin(tmp_path: Path) -> None:
    _helper(
        tmp_path,
        "test",
        'read server; echo "{\\"Username\\":\\"u-$server\\",\\"Secret\\":\\"s\\"}"',
    )
    env = _config(tmp_path, {"credHelpers": {"ghcr.io": "test"}, "auths": {}})
    assert for_registry("ghcr.io", env) == Credentials("u-ghcr.io", "s")


def test_a_helper_without_credentials_means_none(tmp_path: Path) -> None:
    _helper(tmp_path, "store", "echo 'credentials not found in native keychain'; exit 1")
    env = _config(tmp_path, {"credsStore": "store"})
    assert for_registry("ghcr.io", env) is None


def test_a_missing_helper_is_named_with_the_file_naming_it(tmp_path: Path) -> None:
    env = _config(tmp_path, {"credsStore": "absent"})
    with pytest.raises(CredentialsError, match=r"docker-credential-absent is not on PATH"):
        for_registry("ghcr.io", env)


def test_a_broken_config_is_named(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(CredentialsError, match=str(tmp_path / "config.json")):
        for_registry("ghcr.io", {"DOCKER_CONFIG": str(tmp_path)})
