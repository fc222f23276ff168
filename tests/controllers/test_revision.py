"""Revision status from the data plane's report.

Aspects: nothing reported means Unknown/Deploying; Ready follows ResourcesAvailable and
ContainerHealthy with their reasons; Active is informational; lastTransitionTime moves
only when a status changes; the Protocol is satisfied by the in-memory test double.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.controllers.readiness import READY, InMemoryReadiness, failing
from unkai.platform.contracts import Report, RevisionHealth, RevisionReadiness
from unkai.platform.controllers.revision import reconcile_revision, revision_status

NOW = datetime(2026, 1, 1, tzinfo=UTC)
REVISION = {"metadata": {"name": "hello-00001", "namespace": "default", "generation": 1}}


def by_type(status: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {
        c["type"]: (c["status"], c.get("reason", ""), c.get("message", ""))
        for c in status["conditions"]
    }


def test_without_a_report_everything_is_deploying() -> None:
    status = revision_status(REVISION, health=None, now=NOW)
    assert by_type(status) == {
        "ContainerHealthy": ("Unknown", "Deploying", ""),
        "Ready": ("Unknown", "Deploying", ""),
        "ResourcesAvailable": ("Unknown", "Deploying", ""),
    }
    assert status["observedGeneration"] == 1


def test_ready_revision() -> None:
    status = revision_status(REVISION, health=READY, now=NOW)
    assert by_type(status)["Ready"] == ("True", "", "")
    assert status["actualReplicas"] == 1
    active = next(c for c in status["conditions"] if c["type"] == "Active")
    assert active["severity"] == "Info"


def test_failure_reason_reaches_ready() -> None:
    status = revision_status(REVISION, health=failing("ExitCode1", "boom"), now=NOW)
    assert by_type(status)["Ready"] == ("False", "ExitCode1", "boom")


def test_missing_resources_win_over_waiting_container() -> None:
    health = RevisionHealth(
        resources_available=Report("False", "BundleMissing", "no bundle sha256:ab"),
        container_healthy=Report("Unknown", "Deploying"),
    )
    assert by_type(revision_status(REVISION, health=health, now=NOW))["Ready"] == (
        "False",
        "BundleMissing",
        "no bundle sha256:ab",
    )


def test_transition_time_changes_only_with_status() -> None:
    first = revision_status(REVISION, health=None, now=NOW)
    later = NOW + timedelta(minutes=1)
    same = revision_status({**REVISION, "status": first}, health=None, now=later)
    assert same == first
    ready = revision_status({**REVISION, "status": first}, health=READY, now=later)
    times = {c["type"]: c["lastTransitionTime"] for c in ready["conditions"]}
    assert times["Ready"] == "2026-01-01T00:01:00Z"


def test_reconcile_asks_the_readiness_protocol() -> None:
    readiness: RevisionReadiness = InMemoryReadiness({("default", "hello-00001"): READY})
    status = reconcile_revision(REVISION, readiness=readiness, now=NOW)
    assert by_type(status)["Ready"][0] == "True"


def test_image_digest_is_recorded_only_when_the_reference_pins_one() -> None:
    pinned = "unkai.local/default/hello@sha256:" + "a" * 64
    revision: Any = {
        **REVISION,
        "spec": {"containers": [{"image": pinned}]},
    }
    status = revision_status(revision, health=READY, now=NOW)
    assert status["containerStatuses"] == [{"name": "user-container", "imageDigest": pinned}]
    tagged: Any = {**REVISION, "spec": {"containers": [{"image": "example.com/hello:v1"}]}}
    assert "containerStatuses" not in revision_status(tagged, health=READY, now=NOW)
