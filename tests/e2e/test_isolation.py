"""Functions on `unkai up` are sandboxed (issue 13, item 1), seen as a tenant would:
a spy function deployed as a Service reads nothing of the platform (kubeconfig with the
admin token, the SQLite store, the logs, another namespace's bundle, its environment)
through the gateway; a memory hog's revision reports ``OOMKilled``; a detached child of a function
is gone once its Service is deleted; a Service cannot run a bundle uploaded to another
namespace, even by naming its digest; a platform that cannot isolate (here: switched off)
says so on its revisions, which still become Ready.

Skips where this machine cannot isolate (not root, no bubblewrap, no writable cgroups);
the runner's tests show what happens then.
"""

import os
import secrets
import time
from collections.abc import Callable
from typing import Any

import psutil
import pytest
from lightkube import ApiError
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace

from tests.e2e.conftest import LivePlatform
from tests.runners.conftest import FUNCTIONS
from unkai.kube import kinds
from unkai.platform import bundles
from unkai.platform.runners.sandbox import Sandbox
from unkai.platform.runners.spec import BASE_ENVIRONMENT

HOST = "spy.default.localhost"


@pytest.fixture
def sandboxed(live: LivePlatform) -> LivePlatform:
    gaps = Sandbox.detect().gaps
    if gaps or os.geteuid() != 0:
        pytest.skip("; ".join(gaps) or "cgroups need root")
    return live


def deploy_spy(live: LivePlatform, *, container: dict[str, Any] | None = None) -> None:
    digest = live.platform.bundles.of("default").put(bundles.pack(FUNCTIONS / "spy"))
    image = bundles.format_reference(namespace="default", name="spy", digest=digest)
    manifest = {
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": "spy", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": [{"image": image, **(container or {})}]}}},
    }  # fmt: skip
    live.client().apply(kinds.resource(kinds.SERVICE).from_dict(manifest), force=True)
    live.wait_for("spy", lambda s: condition(s, "Ready") == "True", timeout=60)


def condition(obj: dict[str, Any], kind: str, field: str = "status") -> str:
    found = [c for c in obj.get("status", {}).get("conditions", []) if c["type"] == kind]
    return str(found[0].get(field, "")) if found else ""


def test_a_spy_function_reads_nothing_of_the_platform(sandboxed: LivePlatform) -> None:
    deploy_spy(sandboxed)
    other = sandboxed.platform.bundles.of("default").put(bundles.pack(FUNCTIONS / "echo"))
    files = sandboxed.platform.files
    targets = [
        files.kubeconfig,  # holds the admin token
        files.store,
        files.log,
        sandboxed.platform.bundles.of("default").path(other) / "func.py",
    ]

    with sandboxed.http() as http:
        response = http.get(
            "/read", params={"path": [str(p) for p in targets]}, headers={"Host": HOST}
        )
        env = http.get("/env", headers={"Host": HOST}).json()

    assert files.kubeconfig.exists()  # it is there, outside
    assert files.store.exists()
    assert response.json() == {str(p): "FileNotFoundError" for p in targets}
    assert "PYTEST_CURRENT_TEST" in os.environ  # the platform's, not the function's
    contract = ["PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION", "K_INTERNAL_GATEWAY"]
    runtime = ["PYTHONPATH", "PYTHONUNBUFFERED", "PWD"]  # PWD: bubblewrap's --chdir sets it
    assert sorted(env) == sorted([*BASE_ENVIRONMENT, *contract, *runtime])
    revision = sandboxed.service("spy-00001", kinds.REVISION)
    assert condition(revision, "ContainerHealthy") == "True"
    assert condition(revision, "ContainerHealthy", "reason") != "NotIsolated"


def test_a_memory_hog_is_reported_as_oom_killed(sandboxed: LivePlatform) -> None:
    deploy_spy(sandboxed, container={"resources": {"limits": {"memory": "96Mi"}}})

    with sandboxed.http() as http:
        response = http.get("/hog", params={"mb": 400}, headers={"Host": HOST})

    assert response.status_code >= 500
    revision = sandboxed.wait_for(
        "spy-00001",
        lambda r: condition(r, "ContainerHealthy", "reason") == "OOMKilled",
        kind=kinds.REVISION,
    )
    assert condition(revision, "ContainerHealthy") == "False"
    assert "resources.limits.memory" in condition(revision, "ContainerHealthy", "message")


def test_a_detached_child_is_gone_after_delete(sandboxed: LivePlatform) -> None:
    deploy_spy(sandboxed)
    tag = f"{600 + secrets.randbelow(1000)}.{secrets.randbelow(10**6):06d}"
    with sandboxed.http() as http:
        http.get("/detach", params={"tag": tag}, headers={"Host": HOST}).raise_for_status()
    until(lambda: bool(sleeping(tag)), "the detached sleep never started")

    sandboxed.client().delete(kinds.resource(kinds.SERVICE), "spy", namespace="default")

    until(lambda: not sleeping(tag), "the detached sleep outlived its Service")


def test_a_service_cannot_run_a_bundle_of_another_namespace(live: LivePlatform) -> None:
    digest = live.platform.bundles.of("default").put(bundles.pack(FUNCTIONS / "spy"))
    live.client().create(Namespace(metadata=ObjectMeta(name="thief")))
    image = bundles.format_reference(namespace="default", name="spy", digest=digest)
    manifest = {
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": "spy", "namespace": "thief"},
        "spec": {"template": {"spec": {"containers": [{"image": image}]}}},
    }  # fmt: skip
    live.client().apply(kinds.resource(kinds.SERVICE).from_dict(manifest), force=True)

    def reasons() -> list[str]:
        try:
            revision = live.client().get(
                kinds.resource(kinds.REVISION), "spy-00001", namespace="thief"
            )
        except ApiError:  # not made yet
            return []
        return [c.get("reason", "") for c in revision.to_dict()["status"]["conditions"]]

    until(lambda: "BundleMissing" in reasons(), "the thief's revision did not say BundleMissing")
    assert live.platform.bundles.of("default").has(digest)  # there, but not for "thief"


@pytest.mark.parametrize("live", [False], indirect=True)
def test_a_revision_that_runs_unisolated_says_so(live: LivePlatform) -> None:
    deploy_spy(live)

    revision = live.service("spy-00001", kinds.REVISION)

    assert condition(revision, "ContainerHealthy") == "True"
    assert condition(revision, "ContainerHealthy", "reason") == "NotIsolated"
    message = condition(revision, "ContainerHealthy", "message")
    assert "functions are not isolated: switched off" in message
    assert "limits are not enforced" in message
    assert condition(revision, "Ready") == "True"


def sleeping(tag: str) -> list[psutil.Process]:
    return [
        process
        for process in psutil.process_iter(["cmdline", "status"])
        if process.info["cmdline"] == ["sleep", tag]
        and process.info["status"] != psutil.STATUS_ZOMBIE
    ]


def until(check: Callable[[], bool], failure: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)
