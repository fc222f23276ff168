"""Tags pinned to digests, as Knative's revision reconciler pins them: what is resolved,
what it is recorded as, what runs, and the status when it cannot be resolved."""

from datetime import UTC, datetime
from typing import Any, cast

from unkai.api.knative.types import Revision
from unkai.platform.controllers.revision import (
    digest_wanted,
    image_to_run,
    missing_image,
    resolving,
    revision_status,
    with_digest,
)

NOW = datetime(2026, 12, 5, tzinfo=UTC)
DIGEST = "registry.example/team/app@sha256:" + "a" * 64


def revision(image: str, status: dict[str, Any] | None = None) -> Revision:
    obj = {"metadata": {"name": "app-00001", "namespace": "default", "generation": 1},
           "spec": {"containers": [{"image": image}]}, "status": status or {}}  # fmt: skip
    return cast(Revision, obj)


def test_a_tag_is_resolved_once_and_its_digest_runs() -> None:
    tagged = revision("registry.example/team/app:v1")
    assert digest_wanted(tagged) == "registry.example/team/app:v1"
    assert image_to_run(tagged) is None  # nothing runs until it is resolved
    resolved = with_digest(tagged, DIGEST)
    assert digest_wanted(resolved) is None
    assert image_to_run(resolved) == DIGEST
    status = revision_status(resolved, health=None, now=NOW)
    assert status["containerStatuses"] == [{"name": "user-container", "imageDigest": DIGEST}]


def test_a_skipped_registry_runs_its_tag_without_a_digest() -> None:
    skipped = with_digest(revision("dev.local/app:v1"), "")
    assert (digest_wanted(skipped), image_to_run(skipped)) == (None, "dev.local/app:v1")
    status = revision_status(skipped, health=None, now=NOW)
    assert status["containerStatuses"] == [{"name": "user-container"}]


def test_a_pinned_image_needs_no_resolving() -> None:
    pinned = revision(DIGEST)
    assert (digest_wanted(pinned), image_to_run(pinned)) == (None, DIGEST)


def test_an_unresolvable_tag_is_container_missing() -> None:
    status = missing_image(revision("registry.example/team/app:v9"), "not found", now=NOW)
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ContainerMissing")
    assert ready["message"] == (
        'Unable to fetch image "registry.example/team/app:v9": failed to resolve image to'
        " digest: not found"
    )


def test_while_a_tag_is_resolved_the_revision_is_unknown() -> None:
    status = resolving(revision("registry.example/team/app:v1"), "registry.example/team/app:v1",
                       now=NOW)  # fmt: skip
    conditions = {c["type"]: c for c in status["conditions"]}
    assert {conditions[t]["status"] for t in ("Ready", "ContainerHealthy")} == {"Unknown"}
    assert conditions["ContainerHealthy"]["message"] == (
        'Resolving image "registry.example/team/app:v1" to a digest'
    )
    assert "containerStatuses" not in status  # nothing to run yet


def test_a_tag_tried_again_stays_container_missing() -> None:
    tagged = revision("registry.example/team/app:v9")
    failed = missing_image(tagged, "not found", now=NOW)
    again = revision("registry.example/team/app:v9", cast(dict[str, Any], failed))
    assert resolving(again, "registry.example/team/app:v9", now=NOW) == failed
