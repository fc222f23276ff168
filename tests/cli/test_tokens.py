"""`unkai token create|list|revoke`: tokens for one namespace, run in-process with
click's runner against an embedded `unkai up`, and once through kubectl.

Aspects: a created token acts in its namespace and is refused elsewhere; it is printed
once and kept only as a digest; a token written into a kubeconfig makes its namespace
the default; a revoked token stops working at once, with no restart; list shows who
holds tokens; names that are no DNS labels and unknown tokens are refused with a
message naming them.
"""

import json
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
import yaml
from click.testing import CliRunner, Result
from tests.support.embedded import embedded

from unkai.cli.main import cli
from unkai.platform.embedded import Platform, Settings

SERVICES = "/apis/serving.knative.dev/v1/namespaces/{ns}/services"


@dataclass
class Home:
    path: Path
    platform: Platform

    def __call__(self, *args: str) -> Result:
        env = {"UNKAI_DATA_DIR": str(self.path / "data"), "KUBECONFIG": str(self.path / "kube")}
        return CliRunner().invoke(cli, args, env=env)

    def get(self, token: str, namespace: str) -> httpx2.Response:
        """A list of ``namespace``'s services as the holder of ``token`` asks for it."""
        certificate = self.platform.api.certificate
        assert certificate is not None
        with httpx2.Client(
            base_url=self.platform.api.url,
            headers={"Authorization": f"Bearer {token}"},
            verify=ssl.create_default_context(cafile=certificate.ca_file),
        ) as client:
            return client.get(SERVICES.format(ns=namespace))


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    settings = Settings(data_dir=tmp_path / "data", api_port=0, gateway_port=0)
    with embedded(settings) as platform:
        yield Home(tmp_path, platform)


def test_a_created_token_acts_in_its_namespace_until_revoked(home: Home) -> None:
    created = home("token", "create", "--namespace", "team-a", "--name", "ci")
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert "namespace team-a does not exist yet" in created.stderr
    assert "`kubectl create namespace team-a`" in created.stderr
    assert home.get(token, "team-a").status_code == 200
    refused = home.get(token, "team-b")
    assert refused.status_code == 403
    assert 'User "system:serviceaccount:team-a:ci"' in refused.json()["message"]
    assert token not in (home.path / "data" / "platform" / "tokens.json").read_text()

    listed = home("token", "list")
    assert listed.exit_code == 0
    assert [line.split() for line in listed.stdout.splitlines()] == [
        ["NAMESPACE", "NAME"],
        ["team-a", "ci"],
    ]

    revoked = home("token", "revoke", "-n", "team-a", "--name", "ci")
    assert revoked.exit_code == 0, revoked.output
    assert home.get(token, "team-a").status_code == 401
    assert "No tenant tokens" in home("token", "list").stdout


def test_creating_again_replaces_the_token_of_that_name(home: Home) -> None:
    first = home("token", "create", "-n", "team-a").stdout.strip()
    second = home("token", "create", "-n", "team-a").stdout.strip()
    assert first != second
    assert home.get(first, "team-a").status_code == 401
    assert home.get(second, "team-a").status_code == 200


def test_bad_names_and_unknown_tokens_are_refused_by_name(home: Home) -> None:
    bad = home("token", "create", "-n", "Team_A")
    assert bad.exit_code == 2
    assert "'Team_A' is not a DNS label" in bad.stderr
    missing = home("token", "revoke", "-n", "team-a", "--name", "ci")
    assert missing.exit_code == 1
    assert "there is no token ci for namespace team-a" in missing.stderr


def test_a_tenant_kubeconfig_defaults_to_its_namespace(home: Home) -> None:
    target = home.path / "team-a.kubeconfig"
    written = home("token", "create", "-n", "team-a", "--kubeconfig", str(target))
    assert written.exit_code == 0, written.output
    assert target.stat().st_mode & 0o077 == 0
    config = yaml.safe_load(target.read_text())
    assert config["current-context"] == "unkai-team-a"
    [context] = config["contexts"]
    assert context["context"]["namespace"] == "team-a"
    [user] = config["users"]
    assert home.get(user["user"]["token"], "team-a").status_code == 200
    assert config["clusters"][0]["cluster"]["server"] == home.platform.api.url

    def unkai_as_tenant(*args: str) -> Result:
        env = {"UNKAI_DATA_DIR": str(home.path / "data"), "KUBECONFIG": str(target)}
        return CliRunner().invoke(cli, [*args, "--context", "unkai-team-a"], env=env)

    own = unkai_as_tenant("list", "-o", "json")
    assert own.exit_code == 0, own.output
    assert json.loads(own.stdout)["items"] == []
    other = unkai_as_tenant("list", "-n", "default")
    assert other.exit_code == 1
    assert 'forbidden: User "system:serviceaccount:team-a:default"' in other.stderr
    assert 'in the namespace "default"' in other.stderr


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_with_a_tenant_kubeconfig_sees_only_its_namespace(home: Home) -> None:
    admin = str(home.path / "data" / "platform" / "kubeconfig")
    tenant = str(home.path / "team-a.kubeconfig")

    def kubectl(config: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", "--kubeconfig", config, *args],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    for namespace in ("team-a", "other"):
        made = kubectl(admin, "create", "namespace", namespace)
        assert made.returncode == 0, made.stderr
    created = home("token", "create", "-n", "team-a", "--kubeconfig", tenant)
    assert created.exit_code == 0, created.output
    assert created.stderr == ""  # the namespace exists: nothing to note

    own = kubectl(tenant, "get", "ksvc", "-n", "team-a")
    assert own.returncode == 0, own.stderr
    assert "No resources found in team-a namespace" in own.stderr
    default = kubectl(tenant, "get", "ksvc")
    assert default.returncode == 0, default.stderr
    other = kubectl(tenant, "get", "ksvc", "-n", "other")
    assert other.returncode == 1
    assert "forbidden" in other.stderr
    assert 'User "system:serviceaccount:team-a:default"' in other.stderr
