"""The resource commands (apply, list, describe, revisions, traffic, delete) and deploy's
progress, run in-process with click's runner against an embedded `unkai up` whose
revisions fare as the test says.

Aspects: what each command prints for people (tables, one line per object) and for
scripts (`-o json|yaml`); errors name the document and line, the flag, or the missing
revision; delete takes the function's Triggers along; deploy says what a slow revision
waits for. The same commands as processes, and a platform as a process: test_platform.
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from tests.controllers.readiness import READY, InMemoryReadiness
from tests.support.cli import SERVICE
from tests.support.embedded import embedded

from unkai.cli.main import cli
from unkai.platform.embedded import Settings


@dataclass
class Unkai:
    """The ``unkai`` command of a user whose platform is the embedded one."""

    home: Path
    readiness: InMemoryReadiness

    def __call__(self, *args: str) -> Result:
        env = {"UNKAI_DATA_DIR": str(self.home / "data"), "KUBECONFIG": str(self.home / "kube")}
        return CliRunner().invoke(cli, args, env=env)

    def apply(self, text: str, *options: str) -> Result:
        manifest = self.home / "manifest.yaml"
        manifest.write_text(text)
        return self("apply", "-f", str(manifest), *options)

    def revisions(self) -> list[str]:
        listed = json.loads(self("revisions", "hello", "-o", "json").stdout)
        return sorted(item["metadata"]["name"] for item in listed["items"])


@pytest.fixture
def unkai(tmp_path: Path) -> Iterator[Unkai]:
    readiness = InMemoryReadiness()
    settings = Settings(data_dir=tmp_path / "data", api_port=0, gateway_port=0)
    with embedded(settings, readiness=readiness):
        yield Unkai(tmp_path, readiness)


def two_revisions(unkai: Unkai) -> None:
    """hello at generation 2; its revisions are made as the apply returns."""
    for version in ("1", "2"):
        unkai.readiness.set(f"hello-0000{version}", READY)
        assert unkai.apply(SERVICE.format(version=version)).exit_code == 0
    assert unkai.revisions() == ["hello-00001", "hello-00002"]


def test_apply_says_what_it_did_to_each_object(unkai: Unkai) -> None:
    assert unkai.apply(SERVICE.format(version="1")).stdout == (
        "service.serving.knative.dev/hello created\n"
    )
    assert unkai.apply(SERVICE.format(version="1")).stdout == (
        "service.serving.knative.dev/hello unchanged\n"
    )
    assert unkai.apply(SERVICE.format(version="2")).stdout == (
        "service.serving.knative.dev/hello configured\n"
    )
    config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n"
    assert unkai.apply(config_map).stdout == "configmap/settings created\n"
    as_json = json.loads(unkai.apply(config_map, "-o", "json").stdout)
    assert as_json["kind"] == "List"
    assert as_json["items"][0]["data"] == {"a": "b"}
    [as_yaml] = yaml.safe_load_all(unkai.apply(config_map, "-o", "yaml").stdout)
    assert as_yaml["metadata"]["name"] == "settings"


def test_apply_errors_point_at_the_document(unkai: Unkai) -> None:
    broken = unkai.apply("apiVersion: v1\nkind: [\n")
    assert broken.exit_code == 1
    assert "line 3" in broken.stderr
    assert "invalid YAML" in broken.stderr

    good = SERVICE.format(version="1").replace("name: hello", "name: good")
    bad = SERVICE.format(version="1").replace(
        "    spec:\n      containers:",
        "    spec:\n      containerConcurrency: 5000\n      containers:",
    )
    mixed = unkai.apply(good + "---\n" + bad)
    assert mixed.exit_code == 1
    assert mixed.stdout == "service.serving.knative.dev/good created\n"
    assert "(line 18)" in mixed.stderr  # containerConcurrency: in the second document
    assert "spec.template.spec.containerConcurrency" in mixed.stderr

    unknown = unkai.apply("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n")
    assert unknown.exit_code == 1
    assert "does not manage 'Deployment'" in unknown.stderr


def test_list_describe_and_revisions_print_tables_and_documents(unkai: Unkai) -> None:
    two_revisions(unkai)
    rows = [line.split() for line in unkai("list").stdout.splitlines()]
    assert rows[0] == ["NAME", "URL", "LATEST", "AGE", "READY", "REASON"]
    assert rows[1][0] == "hello"
    assert re.fullmatch(r"http://hello\.default\.localhost:\d+", rows[1][1])
    listed = json.loads(unkai("list", "-o", "json").stdout)
    assert (listed["apiVersion"], listed["kind"]) == ("v1", "List")
    assert [item["metadata"]["name"] for item in listed["items"]] == ["hello"]

    described = unkai("describe", "hello").stdout
    for heading in ("Name", "URL", "Conditions", "Traffic", "Revisions", "hello-00002"):
        assert heading in described
    as_yaml = yaml.safe_load(unkai("describe", "hello", "-o", "yaml").stdout)
    assert (as_yaml["kind"], as_yaml["metadata"]["name"]) == ("Service", "hello")

    table = [line.split() for line in unkai("revisions", "hello").stdout.splitlines()]
    assert table[0] == ["REVISION", "GENERATION", "TRAFFIC", "READY", "REASON", "CREATED"]
    assert [row[0] for row in table[1:]] == ["hello-00002", "hello-00001"]  # newest first
    documents = list(yaml.safe_load_all(unkai("revisions", "hello", "-o", "yaml").stdout))
    assert sorted(doc["metadata"]["name"] for doc in documents) == ["hello-00001", "hello-00002"]

    missing = unkai("describe", "nosuch")
    assert missing.exit_code == 1
    assert missing.stderr.startswith("error: nosuch: ")
    assert "not found" in missing.stderr


def test_traffic_sets_the_split_and_refuses_what_would_break_it(unkai: Unkai) -> None:
    two_revisions(unkai)
    split = ["--split", "hello-00001=70", "--split", "@latest=30", "--tag", "hello-00002=next"]
    assert unkai("traffic", "hello", *split).stdout.splitlines() == [
        " 70%  hello-00001",
        " 30%  @latest",
        "  0%  hello-00002  #next",
    ]
    spec = json.loads(unkai("describe", "hello", "-o", "json").stdout)["spec"]
    assert spec["traffic"] == [
        {"percent": 70, "revisionName": "hello-00001", "latestRevision": False},
        {"percent": 30, "latestRevision": True},
        {"percent": 0, "revisionName": "hello-00002", "latestRevision": False, "tag": "next"},
    ]
    as_json = json.loads(unkai("traffic", "hello", "--split", "@latest=100", "-o", "json").stdout)
    assert as_json["spec"]["traffic"] == [{"percent": 100, "latestRevision": True}]

    bad_split = unkai("traffic", "hello", "--split", "hello-00001=70")
    assert bad_split.exit_code == 2
    assert "sum to 70, want 100" in bad_split.stderr
    missing = unkai("traffic", "hello", "--split", "hello-00009=100")
    assert missing.exit_code == 1
    target, refused = missing.stderr.splitlines()  # a command that changes says where first
    assert target.startswith("Target: the local platform (https://127.0.0.1:")
    assert refused == (
        "error: service hello has no revision hello-00009 (its revisions: hello-00001, hello-00002)"
    )


def test_delete_takes_the_functions_triggers_along(tmp_path: Path, unkai: Unkai) -> None:
    function = tmp_path / "hello"
    function.mkdir()
    (function / "func.yaml").write_text("name: hello\ndeploy:\n  subscriptions: [{broker: b}]\n")
    (function / "func.py").write_text("def handle(request):\n    return 'hi'\n")
    deployed = unkai("deploy", str(function), "--no-wait")
    assert deployed.stdout == "hello is deployed (its URL: `unkai describe hello`)\n"
    deleted = unkai("delete", "hello")
    assert deleted.exit_code == 0, deleted.stderr
    assert deleted.stdout.splitlines() == [
        "service.serving.knative.dev/hello deleted",
        "trigger.eventing.knative.dev/hello-0 deleted",
    ]


def test_deploy_says_what_a_slow_revision_waits_for(tmp_path: Path, unkai: Unkai) -> None:
    help_text = unkai("deploy", "--help").stdout
    assert re.search(
        r"--timeout FLOAT\s+Seconds to wait for Ready.*\[default: 600", help_text, re.S
    )
    function = tmp_path / "hello"
    function.mkdir()
    (function / "func.yaml").write_text("name: hello\n")
    (function / "func.py").write_text("def handle(request):\n    return 'hi'\n")
    deployed = unkai("deploy", str(function), "--timeout", "1")  # nothing reports it ready
    assert deployed.exit_code == 1
    assert deployed.stderr.count("Waiting for hello-00001: Deploying\n") == 1  # once: unchanged
    assert deployed.stderr.endswith(
        "error: hello was not ready after 1s, waiting for hello-00001: Deploying"
        " (see `unkai describe hello`; a longer wait: --timeout)\n"
    )
