"""Deploying an image to a cluster whose API refuses or never finishes: an admission
webhook's denial, RBAC's 403, a Service that never gets Ready. A real HTTP server
(kmock) speaks the Kubernetes API; these are what ``unkai up`` itself never does."""

from pathlib import Path

import kmock
import pytest
from lightkube.core.exceptions import ApiError
from tests.kube.clusters import refusal, served
from tests.kube.test_deploy import Recorded

from unkai.cli import console, target
from unkai.kube import deploy

IMAGE = "registry.example.com/team/hello:1@sha256:" + "ab" * 32
SERVICES = "/apis/serving.knative.dev/v1/namespaces/default/services/hello"
TRIGGERS = "/apis/eventing.knative.dev/v1/namespaces/default/triggers"
REVISION = "/apis/serving.knative.dev/v1/namespaces/default/revisions/hello-00001"
PODS = "/api/v1/namespaces/default/pods"
NEW = refusal(404, "NotFound", 'services.serving.knative.dev "hello" not found')
"""What a cluster answers when deploy reads the Service first: a first deploy."""


@pytest.fixture
def function(tmp_path: Path) -> deploy.Function:
    directory = tmp_path / "hello"
    directory.mkdir()
    (directory / "func.yaml").write_text("name: hello\n")
    (directory / "func.py").write_text("def handle(request):\n    return 'hello'\n")
    return deploy.prepare(directory, Recorded())


def _service(ready: dict[str, str] | None) -> dict[str, object]:
    conditions = [] if ready is None else [{"type": "Ready", **ready}]
    return {
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": "hello", "namespace": "default", "generation": 1},
        "spec": {"template": {"spec": {"containers": [{"image": IMAGE}]}}},
        "status": {"observedGeneration": 1, "latestCreatedRevisionName": "hello-00001",
                   "conditions": conditions},
    }  # fmt: skip


def test_a_webhook_denial_is_shown_in_its_words_and_nothing_is_applied(
    function: deploy.Function,
) -> None:
    denial = (
        'admission webhook "validation.webhook.serving.knative.dev" denied the request:'
        " validation failed: must not set the field(s): spec.template.spec.nodeName"
    )
    with served() as (cluster, api):
        cluster["get", SERVICES] << NEW
        cluster["get", TRIGGERS] << {"apiVersion": "v1", "kind": "List", "items": []}
        cluster["patch", SERVICES] << refusal(400, "BadRequest", denial)
        with (
            pytest.raises(console.Failure) as raised,
            target.api_errors(subject="hello"),
        ):
            deploy.deploy(api, function, Recorded(), deploy.Options(image=IMAGE))
        patches = list(cluster["patch"])
    assert raised.value.message == f"hello: {denial}"
    assert [request.params.get("dryRun") for request in patches] == ["All"]  # the dry run only


def test_a_403_names_what_the_user_may_not_do(function: deploy.Function) -> None:
    forbidden = (
        'triggers.eventing.knative.dev is forbidden: User "dev" cannot list resource'
        ' "triggers" in API group "eventing.knative.dev" in the namespace "default"'
    )
    with served() as (cluster, api):
        cluster["get", SERVICES] << NEW
        cluster["get", TRIGGERS] << refusal(403, "Forbidden", forbidden)
        with pytest.raises(ApiError) as raised:
            deploy.deploy(api, function, Recorded(), deploy.Options(image=IMAGE))
        assert not list(cluster["patch"])
    assert raised.value.status.code == 403
    assert raised.value.status.message == forbidden


def test_a_service_that_never_gets_ready_ends_the_wait_saying_what_it_waited_for(
    function: deploy.Function,
) -> None:
    waiting = {
        "status": "Unknown",
        "reason": "RevisionMissing",
        "message": 'Configuration "hello" is waiting for a Revision to become ready.',
    }
    progress = Recorded()
    with served() as (cluster, api):
        cluster["get", TRIGGERS] << {"apiVersion": "v1", "kind": "List", "items": []}
        cluster["patch", SERVICES] << _service(None)
        cluster["get", SERVICES] << _service(waiting)
        cluster["get", REVISION] << _revision({"status": "Unknown", "reason": "Deploying"})
        cluster["get", PODS] << {"apiVersion": "v1", "kind": "PodList", "items": []}
        with pytest.raises(deploy.NotReadyError) as raised:
            deploy.deploy(api, function, progress, deploy.Options(image=IMAGE, timeout=1))
    assert str(raised.value).startswith("hello was not ready after 1s, waiting for hello-00001: ")
    assert progress.waited
    assert not progress.open


CRASHED = """\
Traceback (most recent call last):
  File "/app/func.py", line 1, in <module>
    import numpy
ModuleNotFoundError: No module named 'numpy'
"""


def _revision(ready: dict[str, str]) -> dict[str, object]:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
            "metadata": {"name": "hello-00001", "namespace": "default"},
            "status": {"conditions": [{"type": "Ready", "message": "", **ready}]}}  # fmt: skip


def _pod(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default",
                         "labels": {"serving.knative.dev/revision": "hello-00001"}}}  # fmt: skip


def test_a_failed_revision_shows_its_reason_and_the_last_lines_of_its_pods(
    function: deploy.Function,
) -> None:
    failed = {
        "status": "False",
        "reason": "RevisionFailed",
        "message": 'Revision "hello-00001" failed with message: Container failed with: exit 1.',
    }
    pod = "hello-00001-deployment-7d9c-x2x"
    with served() as (cluster, api):
        cluster["get", TRIGGERS] << {"apiVersion": "v1", "kind": "List", "items": []}
        cluster["patch", SERVICES] << _service(None)
        cluster["get", SERVICES] << _service(failed)
        cluster["get", REVISION] << _revision(failed)
        cluster["get", PODS] << {"apiVersion": "v1", "kind": "PodList", "items": [_pod(pod)]}
        cluster["get", f"{PODS}/{pod}/log"] << kmock.Response(
            status=200, payload=CRASHED.encode(), headers={"Content-Type": "text/plain"}
        )
        with pytest.raises(deploy.NotReadyError) as raised:
            deploy.deploy(api, function, Recorded(), deploy.Options(image=IMAGE))
        [listing] = [request for request in cluster["get"] if request.url.path == PODS]
        [reading] = [request for request in cluster["get"] if request.url.path.endswith("/log")]
    assert str(raised.value) == "\n".join(
        [
            f"hello is not ready: RevisionFailed: {failed['message']}",
            f"Last lines of pod {pod} (user-container):",
            *(f"  {line}" for line in CRASHED.splitlines()),
        ]
    )
    assert listing.params["labelSelector"] == "serving.knative.dev/revision=hello-00001"
    assert reading.params["container"] == "user-container"


def test_pods_the_user_may_not_read_are_said_so_and_the_failure_still_shown(
    function: deploy.Function,
) -> None:
    failed = {"status": "False", "reason": "RevisionFailed", "message": "exit 1"}
    forbidden = 'pods is forbidden: User "dev" cannot list resource "pods"'
    with served() as (cluster, api):
        cluster["get", TRIGGERS] << {"apiVersion": "v1", "kind": "List", "items": []}
        cluster["patch", SERVICES] << _service(None)
        cluster["get", SERVICES] << _service(failed)
        cluster["get", REVISION] << _revision(failed)
        cluster["get", PODS] << refusal(403, "Forbidden", forbidden)
        with pytest.raises(deploy.NotReadyError) as raised:
            deploy.deploy(api, function, Recorded(), deploy.Options(image=IMAGE))
    assert str(raised.value) == (
        "hello is not ready: RevisionFailed: exit 1\n"
        f"(the pods of hello-00001 cannot be listed: {forbidden})"
    )
