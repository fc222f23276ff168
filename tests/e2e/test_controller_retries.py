"""A reconcile that fails is tried again with backoff, not dropped.

Before, a reconcile that raised anything but a write conflict was logged and
forgotten: the object stayed as it was until an unrelated change touched it. Here the
data plane's answer about a revision raises a few times (an instance log that cannot be
read, say); nothing else happens afterwards, so only a retry can make the Service Ready.
"""

from typing import Any

from tests.controllers.readiness import READY
from tests.e2e.conftest import RunningPlatform
from unkai.kube import kinds

SERVICE = {
    "apiVersion": "serving.knative.dev/v1",
    "kind": "Service",
    "metadata": {"name": "hello", "namespace": "default"},
    "spec": {"template": {"spec": {"containers": [{"image": "example.com/hello"}]}}},
}


def ready(service: dict[str, Any]) -> bool:
    conditions = service.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def test_a_failed_revision_reconcile_is_retried_until_it_succeeds(
    platform: RunningPlatform,
) -> None:
    platform.readiness.set("hello-00001", READY)
    platform.readiness.break_for("hello-00001", 3)
    platform.client().create(kinds.resource(kinds.SERVICE).from_dict(SERVICE))
    service = platform.wait_for("hello", ready, timeout=20)
    assert service["status"]["latestReadyRevisionName"] == "hello-00001"
    assert platform.readiness.faults[("default", "hello-00001")] == 0  # every fault was hit
