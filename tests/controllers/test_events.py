"""Events the controllers record: Knative's reasons and messages, on the right object."""

from datetime import UTC, datetime, timedelta

from unkai.platform.controllers import events

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = {
    "apiVersion": "serving.knative.dev/v1",
    "kind": "Configuration",
    "metadata": {"name": "hello", "namespace": "shop", "uid": "c-1"},
}


def ready(status: str, **fields: str) -> dict[str, object]:
    return {"conditions": [{"type": "Ready", "status": status}], **fields}


def test_an_event_names_its_object_as_kubectl_describe_looks_for_it() -> None:
    event = events.created(CONFIG, {"kind": "Revision", "metadata": {"name": "hello-00001"}},
                           now=NOW)  # fmt: skip
    assert event["involvedObject"] == {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Configuration",
        "name": "hello",
        "namespace": "shop",
        "uid": "c-1",
    }
    assert event["metadata"] == {"generateName": "hello.", "namespace": "shop"}
    assert (event["type"], event["reason"], event["message"]) == (
        "Normal",
        "Created",
        'Created Revision "hello-00001"',
    )
    assert event["firstTimestamp"] == event["lastTimestamp"] == "2026-01-01T00:00:00Z"


def test_status_changes_that_are_told_and_those_that_are_not() -> None:
    old = ready("True", latestReadyRevisionName="hello-00001")
    moved = ready("True", latestReadyRevisionName="hello-00002")
    [update] = events.latest_ready_changed(CONFIG, old, moved, now=NOW)
    assert (update["reason"], update["message"]) == (
        "LatestReadyUpdate",
        'LatestReadyRevisionName updated to "hello-00002"',
    )
    failed = ready(
        "False", latestReadyRevisionName="hello-00001", latestCreatedRevisionName="hello-00002"
    )
    [failure] = events.latest_ready_changed(CONFIG, old, failed, now=NOW)
    assert (failure["type"], failure["reason"], failure["message"]) == (
        "Warning",
        "LatestCreatedFailed",
        'Latest created revision "hello-00002" has failed',
    )
    assert events.latest_ready_changed(CONFIG, failed, failed, now=NOW) == []  # told once


def test_events_expire_after_an_hour() -> None:
    event = events.created(CONFIG, {"kind": "Route", "metadata": {"name": "hello"}}, now=NOW)
    assert not events.expired(event, now=NOW + events.TTL)
    assert events.expired(event, now=NOW + events.TTL + timedelta(seconds=1))
