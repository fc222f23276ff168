"""The target is never a surprise: the local platform unless the user chose a cluster
(--context, UNKAI_CONTEXT, `unkai context use`), a stopped local platform is an error
saying how to start it (never a quiet switch to kubectl's current context), and every
command that changes something prints its target first. Also ``unkai deploy --dry-run``,
which prints the manifests and asks no target anything.

The "cluster" is kmock, a real HTTP server speaking the Kubernetes API (it records
every request, so a test can tell that nothing reached it); no ``unkai up`` runs here.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import kmock
import pytest
import yaml
from click.testing import CliRunner, Result
from tests.kube.clusters import kubeconfig, served

from unkai.cli.main import cli
from unkai.kube import contexts

TRIGGERS = "/apis/eventing.knative.dev/v1/namespaces/default/triggers"
SERVICE = "/apis/serving.knative.dev/v1/namespaces/default/services/hello"


@dataclass
class Home:
    """A user's machine: a data dir with no platform running, and a kubeconfig whose
    current context is a cluster (kmock)."""

    path: Path
    cluster: kmock.RawHandler
    url: str
    env: dict[str, str]

    def __call__(self, *args: str, **env: str) -> Result:
        return CliRunner().invoke(cli, args, env={**self.env, **env})

    def function(self) -> Path:
        directory = self.path / "hello"
        directory.mkdir(exist_ok=True)
        (directory / "func.yaml").write_text("name: hello\n")
        (directory / "func.py").write_text("def handle(request):\n    return 'hi'\n")
        return directory


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    with served() as (cluster, api):
        url = api.config.cluster.server
        (tmp_path / "kube").write_text(yaml.safe_dump(kubeconfig(url)))
        env = {
            "UNKAI_DATA_DIR": str(tmp_path / "data"),
            "UNKAI_CACHE_DIR": str(tmp_path / "cache"),
            "KUBECONFIG": str(tmp_path / "kube"),
            "UNKAI_CONTEXT": "",
        }
        yield Home(tmp_path, cluster, url, env)


def test_the_first_choice_set_wins_and_the_local_platform_is_the_default() -> None:
    assert contexts.choose(flag=None, environment=None, saved=None) == contexts.Choice(
        "unkai", "default"
    )
    assert contexts.choose(flag="a", environment="b", saved="c").source == "--context"
    assert contexts.choose(flag=None, environment="b", saved="c").context == "b"
    assert contexts.choose(flag="", environment="", saved="c").source == "`unkai context use`"


def test_a_stopped_local_platform_is_an_error_not_kubectls_current_cluster(home: Home) -> None:
    deployed = home("deploy", str(home.function()))
    assert deployed.exit_code == 1
    assert "the local platform is not running: start it with `unkai up --detach`" in (
        deployed.stderr
    )
    assert "`unkai context use CTX`" in deployed.stderr
    assert list(home.cluster["get"]) == list(home.cluster["patch"]) == []


def test_context_use_chooses_a_cluster_until_the_local_platform_is_chosen_again(
    home: Home,
) -> None:
    assert home("context", "current").stdout == (
        "the local platform (not running: `unkai up --detach`)\n"
    )
    unknown = home("context", "use", "prod")
    assert unknown.exit_code == 1
    assert f"context prod is not in {home.path / 'kube'} (its contexts: mock;" in unknown.stderr

    used = home("context", "use", "mock")
    assert used.exit_code == 0, used.output
    assert home("context", "current").stdout == (
        f"context mock ({home.url}), chosen by `unkai context use`\n"
    )
    listed = home("context", "list").stdout.splitlines()
    assert listed[1].split() == ["unkai", "(not", "running)", "default"]
    assert listed[2].split() == ["*", "mock", home.url, "default"]
    overridden = home("context", "current", UNKAI_CONTEXT="unkai")
    assert overridden.stdout == (
        "the local platform (not running: `unkai up --detach`), chosen by UNKAI_CONTEXT\n"
    )

    assert home("context", "use", "unkai").exit_code == 0
    assert home("context", "current").stdout.startswith("the local platform (")


def test_a_command_that_changes_something_prints_its_target_first(home: Home) -> None:
    home.cluster["get", TRIGGERS] << {"apiVersion": "v1", "kind": "List", "items": []}
    home.cluster["delete", SERVICE] << {"kind": "Status", "apiVersion": "v1", "status": "Success"}
    deleted = home("delete", "hello", "--context", "mock")
    assert deleted.exit_code == 0, deleted.output
    first = deleted.stderr.splitlines()[0]
    assert first == f"Target: context mock ({home.url}), chosen by --context"
    assert [request.url.path for request in home.cluster["delete"]] == [SERVICE]

    listed = home("list", UNKAI_CONTEXT="mock")  # reading changes nothing: no target line
    assert "Target:" not in listed.stderr


def test_a_cluster_context_runs_images_only(home: Home) -> None:
    refused = home("deploy", str(home.function()), UNKAI_CONTEXT="mock")
    assert refused.exit_code == 1
    assert "context mock is a cluster: it runs images, not bundles" in refused.stderr


def test_dry_run_prints_the_manifests_and_asks_the_target_nothing(home: Home) -> None:
    directory = home.function()
    (directory / "func.yaml").write_text(
        "name: hello\ndeploy:\n  subscriptions:\n    - filters: {type: greeting}\n"
    )
    printed = home("deploy", str(directory), "--dry-run")
    assert printed.exit_code == 0, printed.output
    service, trigger = yaml.safe_load_all(printed.stdout)
    assert (service["kind"], service["metadata"]["namespace"]) == ("Service", "default")
    image = service["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.startswith("unkai.local/default/hello@sha256:")
    assert trigger["spec"]["filter"] == {"attributes": {"type": "greeting"}}

    as_json = home("deploy", str(directory), "--dry-run", "-o", "json", "-n", "team")
    listed = json.loads(as_json.stdout)
    assert listed["kind"] == "List"
    assert {item["metadata"]["namespace"] for item in listed["items"]} == {"team"}
    assert list(home.cluster["get"]) == list(home.cluster["patch"]) == []

    alone = home("deploy", str(directory), "-o", "yaml")
    assert alone.exit_code == 2
    assert "-o/--output formats --dry-run's manifests: add --dry-run" in alone.stderr
