"""Revision garbage collection decisions (``config-gc``), as Knative's v2 collector makes
them: routed, latest and ``no-gc`` revisions stay; stale ones beyond the minimum go, and
every non-active one beyond the maximum."""

from datetime import UTC, datetime
from typing import Any

from unkai.api.knative.clusterconfig import GcConfig
from unkai.platform.controllers.revisiongc import (
    ROUTING_STATE_MODIFIED,
    Candidate,
    candidate,
    collect,
    routing_marks,
)

HOUR = 3600.0
NOW = 1_000 * HOUR
ONLY_MAX = GcConfig(None, None, 0, None)


def old(name: str, *, active: bool = False, hours_ago: float = 100.0) -> Candidate:
    """A revision created and last active ``hours_ago``."""
    return Candidate(name, NOW - hours_ago * HOUR, NOW - hours_ago * HOUR, active)


def test_defaults_keep_twenty_stale_revisions() -> None:
    revisions = [old(f"r{i:02}", hours_ago=100 + i) for i in range(25)]
    assert collect(revisions, GcConfig(), now=NOW) == ["r20", "r21", "r22", "r23", "r24"]


def test_active_revisions_never_go_nor_count() -> None:
    revisions = [old("routed", active=True, hours_ago=500), old("a", hours_ago=50),
                 old("b", hours_ago=60), old("c", hours_ago=70)]  # fmt: skip
    config = GcConfig(HOUR, HOUR, 1, 1000)
    assert collect(revisions, config, now=NOW) == ["b", "c"]


def test_recently_created_or_active_revisions_are_not_stale() -> None:
    config = GcConfig(48 * HOUR, 15 * HOUR, 0, 1000)
    young = old("young", hours_ago=10)
    recently_active = Candidate("recently-active", NOW - 100 * HOUR, NOW - 5 * HOUR, False)
    stale = old("stale", hours_ago=49)
    assert collect([young, recently_active, stale], config, now=NOW) == ["stale"]


def test_one_disabled_time_does_not_protect() -> None:
    created_long_ago_active_now = Candidate("r", NOW - 100 * HOUR, NOW - 1, False)
    assert collect([created_long_ago_active_now], GcConfig(None, HOUR, 0, None), now=NOW) == []
    assert collect([created_long_ago_active_now], GcConfig(HOUR, None, 0, None), now=NOW) == ["r"]


def test_the_maximum_deletes_the_least_recently_active_even_when_fresh() -> None:
    revisions = [old(f"r{i}", hours_ago=i / 10) for i in range(5)]
    assert collect(revisions, GcConfig(48 * HOUR, 15 * HOUR, 0, 2), now=NOW) == ["r2", "r3", "r4"]


def test_all_disabled_collects_nothing() -> None:
    revisions = [old(f"r{i}", hours_ago=1000) for i in range(50)]
    assert collect(revisions, ONLY_MAX, now=NOW) == []
    assert collect(revisions[:3], GcConfig(None, None, 0, 1), now=NOW) == ["r1", "r2"]


def test_no_more_than_the_minimum_collects_nothing() -> None:
    revisions = [old(f"r{i}", hours_ago=1000) for i in range(3)]
    assert collect(revisions, GcConfig(0.0, 0.0, 3, 3), now=NOW) == []


def revision(name: str, labels: dict[str, str] | None = None,
             annotations: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    return {"metadata": {"name": name, "creationTimestamp": "2026-12-01T00:00:00Z",
                         "labels": labels or {}, "annotations": annotations or {}}}  # fmt: skip


def test_routing_marks_record_when_the_state_changed() -> None:
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    marked = routing_marks(revision("r"), routed=False, now=now)
    assert marked["labels"]["serving.knative.dev/routingState"] == "reserve"
    assert marked["annotations"][ROUTING_STATE_MODIFIED] == "2026-12-05T12:00:00Z"
    later = datetime(2026, 12, 6, tzinfo=UTC)
    again = {"metadata": marked}
    assert routing_marks(again, routed=False, now=later) == marked  # no change, no write
    routed = routing_marks(again, routed=True, now=later)
    assert routed["labels"]["serving.knative.dev/routingState"] == "active"
    assert routed["annotations"][ROUTING_STATE_MODIFIED] == "2026-12-06T00:00:00Z"


def test_candidates_are_active_when_latest_preserved_or_not_yet_labelled() -> None:
    reserve = {"serving.knative.dev/routingState": "reserve"}
    modified = {ROUTING_STATE_MODIFIED: "2026-12-04T00:00:00Z"}
    unrouted = candidate(revision("r", reserve, modified), latest=[])
    assert not unrouted.active
    assert unrouted.last_active == datetime(2026, 12, 4, tzinfo=UTC).timestamp()
    assert unrouted.created == datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    assert candidate(revision("r", reserve), latest=["r"]).active
    assert candidate(revision("r", reserve, {"serving.knative.dev/no-gc": "true"}), []).active
    assert candidate(revision("r", {**reserve, "serving.knative.dev/no-gc": "True"}), []).active
    assert candidate(revision("r"), latest=[]).active  # no routing state yet
