"""`unkai logs NAME` against a cluster: the service's pods' ``user-container`` logs
through the Pods API. A real HTTP server (kmock) stands for the cluster's API, the CLI
runs in-process with click's runner and a kubeconfig naming it; and the same reading
runs against a real ``unkai up``'s own Pod view, whose log subresource serves its
instances' files.

Aspects: pods are selected by the service's label (the revision's with ``-r``), each
line is shown under its pod's name, JSON lines read as for the local platform; ``-f``
follows every pod's stream; no pods says whether the service exists or is scaled to
zero; a refusal is one line in the API's words."""

import json
from collections.abc import Iterator
from pathlib import Path

import kmock
import pytest
import yaml
from click.testing import CliRunner, Result
from tests.conformance.conftest import Conformance, until
from tests.controllers.readiness import InMemoryReadiness
from tests.e2e.conftest import QUICK
from tests.kube.clusters import kubeconfig, refusal, served
from tests.runners.conftest import FUNCTIONS
from tests.support.embedded import started

from unkai.cli import console
from unkai.cli.logs import from_pods
from unkai.cli.main import cli
from unkai.platform import bundles
from unkai.platform.embedded import Settings
from unkai.platform.logs import LogLine

PODS = "/api/v1/namespaces/default/pods"
SERVICE = "/apis/serving.knative.dev/v1/namespaces/default/services/hello"
STARTED = {"time": "2026-12-05T09:30:01.250Z", "level": "info", "message": "function started"}


def pod(name: str, revision: str = "hello-00001") -> dict[str, object]:
    labels = {"serving.knative.dev/service": "hello", "serving.knative.dev/revision": revision}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": labels}}  # fmt: skip


def pod_list(*names: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "PodList", "items": [pod(name) for name in names]}


def text(body: str) -> kmock.Response:
    return kmock.Response(status=200, payload=body.encode(), headers={"Content-Type": "text/plain"})


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[kmock.RawHandler, dict[str, str]]]:
    """The mock cluster and the environment of a user whose kubeconfig names it."""
    with served() as (handler, api):
        config = tmp_path / "kubeconfig"
        config.write_text(yaml.safe_dump(kubeconfig(str(api.config.cluster.server))))
        env = {"KUBECONFIG": str(config), "UNKAI_DATA_DIR": str(tmp_path / "data")}
        yield handler, env


def logs(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, ["logs", "hello", "--context", "mock", *args], env=env)


def test_each_pods_lines_are_shown_under_its_name(
    cluster: tuple[kmock.RawHandler, dict[str, str]],
) -> None:
    handler, env = cluster
    handler["get", PODS] << pod_list("hello-b", "hello-a")
    handler["get", f"{PODS}/hello-a/log"] << text(json.dumps(STARTED) + "\nplain print\n")
    handler["get", f"{PODS}/hello-b/log"] << text("from b\n")
    shown = logs(env)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines() == [
        "hello-a 09:30:01.250 INFO function started",
        "hello-a plain print",
        "hello-b from b",
    ]
    [listing] = [request for request in handler["get"] if request.url.path == PODS]
    reads = [request for request in handler["get"] if request.url.path.endswith("/log")]
    assert listing.params["labelSelector"] == "serving.knative.dev/service=hello"
    assert {request.params["container"] for request in reads} == {"user-container"}


def test_a_revision_and_json_output(cluster: tuple[kmock.RawHandler, dict[str, str]]) -> None:
    handler, env = cluster
    handler["get", PODS] << pod_list("hello-a")
    handler["get", f"{PODS}/hello-a/log"] << text(json.dumps(STARTED) + "\n")
    shown = logs(env, "-r", "hello-00002", "-o", "json")
    assert shown.exit_code == 0, shown.output
    assert [json.loads(line) for line in shown.stdout.splitlines()] == [
        {"instance": "hello-a", **STARTED}
    ]
    [listing] = [request for request in handler["get"] if request.url.path == PODS]
    assert listing.params["labelSelector"] == "serving.knative.dev/revision=hello-00002"


def test_follow_reads_every_pods_stream(
    cluster: tuple[kmock.RawHandler, dict[str, str]],
) -> None:
    handler, env = cluster
    handler["get", PODS] << pod_list("hello-a", "hello-b")
    handler["get", f"{PODS}/hello-a/log"] << text("a1\na2\n")
    handler["get", f"{PODS}/hello-b/log"] << text("b1\n")
    shown = logs(env, "-f")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert sorted(lines) == ["hello-a a1", "hello-a a2", "hello-b b1"]
    assert lines.index("hello-a a1") < lines.index("hello-a a2")
    reads = [request for request in handler["get"] if request.url.path.endswith("/log")]
    assert {request.params["follow"] for request in reads} == {"true"}


def test_no_pods_says_whether_the_service_exists(
    cluster: tuple[kmock.RawHandler, dict[str, str]],
) -> None:
    handler, env = cluster
    handler["get", PODS] << pod_list()
    handler["get", SERVICE] << refusal(404, "NotFound", 'services "hello" not found')
    gone = logs(env)
    assert gone.exit_code == 1
    assert gone.stderr.strip() == "error: there is no service hello in namespace default"


def test_a_scaled_to_zero_service_has_nothing_to_read(
    cluster: tuple[kmock.RawHandler, dict[str, str]],
) -> None:
    handler, env = cluster
    handler["get", PODS] << pod_list()
    handler["get", SERVICE] << {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
                                "metadata": {"name": "hello", "namespace": "default"}}  # fmt: skip
    idle = logs(env)
    assert idle.exit_code == 1
    assert "hello has no pods in namespace default (scaled to zero?)" in idle.stderr


def test_a_refusal_is_the_apis_own_words(
    cluster: tuple[kmock.RawHandler, dict[str, str]],
) -> None:
    handler, env = cluster
    forbidden = 'pods is forbidden: User "dev" cannot list resource "pods"'
    handler["get", PODS] << refusal(403, "Forbidden", forbidden)
    refused = logs(env)
    assert refused.exit_code == 1
    assert refused.stderr.strip() == f"error: the logs of hello: {forbidden}"


@pytest.mark.slow
def test_unkai_ups_pod_view_serves_the_same_reading(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("unkai"), api_port=0, gateway_port=0, autoscaler=QUICK
    )
    with started(settings) as (embedded, loop):
        live = Conformance(embedded, loop, InMemoryReadiness(), embedded.files.kubeconfig)
        try:
            digest = embedded.bundles.of("default").put(bundles.pack(FUNCTIONS / "echo"))
            image = bundles.format_reference(namespace="default", name="hello", digest=digest)
            live.apply({
                "apiVersion": "serving.knative.dev/v1", "kind": "Service",
                "metadata": {"name": "hello"},
                "spec": {"template": {
                    "metadata": {"annotations": {"autoscaling.knative.dev/min-scale": "1"}},
                    "spec": {"containers": [{"image": image}]},
                }},
            })  # fmt: skip
            live.ready("hello")
            seen: list[LogLine] = []

            def started_line() -> bool:
                seen.clear()
                from_pods(live.client(), "hello", namespace="default", revision=None,
                          follow=False, show=seen.append)  # fmt: skip
                return any("function started" in line.text for line in seen)

            until(started_line, timeout=30, what="the instance's 'function started' line")
            with pytest.raises(console.Failure, match="there is no service nobody"):
                from_pods(live.client(), "nobody", namespace="default", revision=None,
                          follow=False, show=seen.append)  # fmt: skip
        finally:
            live.close()
    assert {line.instance for line in seen} == {seen[0].instance}
    assert seen[0].instance.startswith("hello-00001-")
