"""Knative's traffic-splitting tutorial, driven by `kubectl apply` alone.

Aspects: a Service becomes Ready once its revision is; an update makes a second
revision and moves traffic only when it is ready; a split by apply shows in status with
revision names and tag URLs; re-applying the same file changes nothing; a failing
revision surfaces as a condition with reason and message; bad manifests get messages
that name the field; `kubectl describe` and `kubectl get events` tell what the
controllers did, in Knative's words.
"""

import time
from collections.abc import Callable
from typing import Any

from tests.controllers.readiness import READY, failing
from tests.e2e.conftest import RunningPlatform
from unkai.kube import kinds

SERVICE = """
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/knative/helloworld-go:latest
          env:
            - name: TARGET
              value: "{target}"
{traffic}
"""
SPLIT = """  traffic:
    - latestRevision: true
      percent: 50
      tag: current
    - revisionName: hello-00001
      percent: 50
      tag: previous
"""


def manifest(target: str, traffic: str = "") -> str:
    return SERVICE.format(target=target, traffic=traffic)


def eventually(read: Callable[[], str], wanted: str, timeout: float = 10) -> str:
    """What ``read`` returns once it contains ``wanted`` (Events are written just after
    the reconcile they tell of)."""
    deadline = time.monotonic() + timeout
    while wanted not in (text := read()):
        assert time.monotonic() < deadline, f"{wanted!r} never appeared in:\n{text}"
        time.sleep(0.1)
    return text


def ready(service: dict[str, Any]) -> bool:
    conditions = service.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def traffic_of(service: dict[str, Any]) -> list[tuple[str, int, str]]:
    return [
        (entry["revisionName"], entry["percent"], entry.get("tag", ""))
        for entry in service.get("status", {}).get("traffic", [])
    ]


def test_tutorial_flow_by_kubectl_apply(platform: RunningPlatform) -> None:
    created = platform.kubectl("apply", "-f", "-", stdin=manifest("World"))
    assert created.returncode == 0, created.stderr
    assert "service.serving.knative.dev/hello created" in created.stdout
    platform.wait_for(
        "hello", lambda s: s.get("status", {}).get("latestCreatedRevisionName") == "hello-00001"
    )
    assert not ready(platform.service("hello"))
    platform.report("hello-00001", READY)
    service = platform.wait_for("hello", ready)
    assert service["status"]["url"] == platform.url("hello.default.localhost")
    assert traffic_of(service) == [("hello-00001", 100, "")]
    told = eventually(lambda: platform.kubectl("describe", "ksvc", "hello").stdout,
                      'Created Route "hello"')  # fmt: skip
    assert 'Created Configuration "hello"' in told
    told = eventually(lambda: platform.kubectl("get", "events").stdout,
                      'LatestReadyRevisionName updated to "hello-00001"')  # fmt: skip
    assert 'Created Revision "hello-00001"' in told

    updated = platform.kubectl("apply", "-f", "-", stdin=manifest("Knative"))
    assert "configured" in updated.stdout, updated.stderr
    platform.wait_for(
        "hello", lambda s: s.get("status", {}).get("latestCreatedRevisionName") == "hello-00002"
    )
    assert traffic_of(platform.service("hello")) == [("hello-00001", 100, "")]
    platform.report("hello-00002", READY)
    service = platform.wait_for("hello", lambda s: traffic_of(s) == [("hello-00002", 100, "")])
    assert service["status"]["latestReadyRevisionName"] == "hello-00002"

    split = platform.kubectl("apply", "-f", "-", stdin=manifest("Knative", SPLIT))
    assert split.returncode == 0, split.stderr
    # The new traffic can show before the Route is Ready again (as in Knative): wait for both.
    service = platform.wait_for("hello", lambda s: len(traffic_of(s)) == 2 and ready(s))
    assert traffic_of(service) == [("hello-00002", 50, "current"), ("hello-00001", 50, "previous")]
    urls = {entry["tag"]: entry["url"] for entry in service["status"]["traffic"]}
    assert urls == {
        "current": platform.url("current-hello.default.localhost"),
        "previous": platform.url("previous-hello.default.localhost"),
    }

    generation = service["metadata"]["generation"]
    again = platform.kubectl("apply", "-f", "-", stdin=manifest("Knative", SPLIT))
    assert "unchanged" in again.stdout or "configured" in again.stdout, again.stderr
    assert platform.service("hello")["metadata"]["generation"] == generation
    assert platform.revision_names() == ["hello-00001", "hello-00002"]

    listed = platform.kubectl("get", "ksvc")
    assert "hello" in listed.stdout
    assert platform.url("hello.default.localhost") in listed.stdout
    revisions = platform.kubectl("get", "revisions")
    assert "hello-00001" in revisions.stdout
    assert "hello-00002" in revisions.stdout


def test_failing_revision_shows_in_conditions(platform: RunningPlatform) -> None:
    platform.kubectl("apply", "-f", "-", stdin=manifest("World"))
    platform.wait_for(
        "hello", lambda s: s.get("status", {}).get("latestCreatedRevisionName") == "hello-00001"
    )
    platform.report("hello-00001", failing("ExitCode1", "container exited with code 1: boom"))
    service = platform.wait_for(
        "hello",
        lambda s: any(
            c["type"] == "ConfigurationsReady" and c["status"] == "False"
            for c in s["status"].get("conditions", [])
        ),
    )
    condition = next(c for c in service["status"]["conditions"] if c["type"] == "Ready")
    assert condition["status"] == "False"
    assert "boom" in condition["message"]
    described = platform.kubectl("describe", "ksvc", "hello")
    assert "boom" in described.stdout


def test_bad_manifests_name_the_field(platform: RunningPlatform) -> None:
    bad_split = manifest("World", "  traffic:\n    - latestRevision: true\n      percent: 40\n")
    result = platform.kubectl("apply", "-f", "-", stdin=bad_split)
    assert result.returncode != 0
    assert "spec.traffic" in result.stderr
    assert "Traffic targets sum to 40, want 100" in result.stderr
    bad_timeout = manifest("World").replace(
        "    spec:\n      containers:", "    spec:\n      timeoutSeconds: 9000\n      containers:"
    )
    result = platform.kubectl("apply", "-f", "-", stdin=bad_timeout)
    assert result.returncode != 0
    assert "spec.template.spec.timeoutSeconds" in result.stderr
    assert platform.revision_names() == []


STANDALONE = """
apiVersion: serving.knative.dev/v1
kind: Configuration
metadata:
  name: mycfg
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/knative/helloworld-go:latest
---
apiVersion: serving.knative.dev/v1
kind: Route
metadata:
  name: myrt
spec:
  traffic:
    - configurationName: mycfg
      percent: 100
"""


def test_a_route_follows_the_configuration_it_names(platform: RunningPlatform) -> None:
    applied = platform.kubectl("apply", "-f", "-", stdin=STANDALONE)
    assert applied.returncode == 0, applied.stderr
    platform.wait_for(
        "mycfg",
        lambda c: c.get("status", {}).get("latestCreatedRevisionName") == "mycfg-00001",
        kind=kinds.CONFIGURATION,
    )
    platform.report("mycfg-00001", READY)
    route = platform.wait_for("myrt", ready, kind=kinds.ROUTE)
    assert traffic_of(route) == [("mycfg-00001", 100, "")]
