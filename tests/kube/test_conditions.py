"""What an object waits for (deploy's progress line) and whether it is Ready, read from
its conditions."""

from unkai.kube import conditions


def revision(*entries: dict[str, str]) -> dict[str, object]:
    return {"status": {"conditions": list(entries)}}


def test_pending_says_what_holds_readiness_up() -> None:
    installing = revision(
        {"type": "Ready", "status": "Unknown", "reason": "Deploying"},
        {"type": "ContainerHealthy", "status": "Unknown", "reason": "Deploying", "message": "pip"},
        {"type": "Active", "status": "Unknown", "reason": "Queued", "severity": "Info"},
        {"type": "ResourcesAvailable", "status": "True"},
    )
    assert conditions.pending(installing) == "Deploying: pip"
    only_ready = revision({"type": "Ready", "status": "Unknown", "reason": "Deploying"})
    assert conditions.pending(only_ready) == "Deploying"
    assert conditions.pending(revision({"type": "Ready", "status": "True"})) == ""
    assert conditions.pending({}) == ""


def test_an_object_without_a_ready_condition_is_unknown() -> None:
    failed = revision({"type": "Ready", "status": "False", "reason": "ExitCode1"})
    assert conditions.condition(failed)["reason"] == "ExitCode1"
    assert conditions.condition({}) == {"type": "Ready", "status": "Unknown"}
    assert conditions.condition(failed, "Active") == {"type": "Active", "status": "Unknown"}
