"""Configuration → Revisions, and Configuration status.

Aspects: one Revision per template change, named by generation or BYO; template-only
label changes make a Revision while the Configuration's own metadata does not (and is
not copied); labels and ownership of a new Revision; latest-ready tracking; a failing
Revision surfaces as ``RevisionFailed``; a name taken by someone else; idempotence.
"""

from datetime import UTC, datetime
from typing import Any

from tests.api.manifests import at
from tests.controllers.cluster import Cluster, condition
from tests.controllers.readiness import READY, failing
from unkai.platform.controllers.configuration import make_revision, reconcile_configuration

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def configuration(image: str = "example.com/hello:v1") -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Configuration",
        "metadata": {"name": "hello", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": [{"image": image}]}}},
    }


def revisions(cluster: Cluster) -> list[str]:
    return sorted(cluster.of_kind("Revision"))


def test_template_changes_make_revisions_metadata_changes_do_not() -> None:
    cluster = Cluster()
    cluster.apply(configuration())
    cluster.settle()
    assert revisions(cluster) == ["hello-00001"]

    cluster.apply(at(configuration(), "metadata.labels", {"team": "a"}))
    cluster.apply(at(configuration(), "metadata.annotations", {"note": "x"}))
    cluster.settle()
    assert revisions(cluster) == ["hello-00001"]
    assert "team" not in cluster.get("Revision", "hello-00001")["metadata"]["labels"]

    cluster.apply(at(configuration(), "spec.template.metadata.labels", {"team": "a"}))
    cluster.settle()
    assert revisions(cluster) == ["hello-00001", "hello-00002"]
    assert cluster.get("Revision", "hello-00002")["metadata"]["labels"]["team"] == "a"

    cluster.apply(at(configuration(), "spec.template.metadata.annotations", {"a": "b"}))
    cluster.settle()
    assert revisions(cluster) == ["hello-00001", "hello-00002", "hello-00003"]
    assert cluster.get("Revision", "hello-00003")["metadata"]["annotations"] == {"a": "b"}


def test_new_revision_is_labelled_and_owned() -> None:
    config = at(
        configuration(),
        "metadata",
        {
            "name": "hello",
            "namespace": "default",
            "uid": "c-1",
            "generation": 3,
            "labels": {
                "serving.knative.dev/service": "hello",
                "serving.knative.dev/serviceUID": "s-1",
            },
        },
    )
    revision = make_revision(config)
    assert revision["metadata"]["name"] == "hello-00003"
    assert revision["metadata"]["labels"] == {
        "serving.knative.dev/configuration": "hello",
        "serving.knative.dev/configurationGeneration": "3",
        "serving.knative.dev/configurationUID": "c-1",
        "serving.knative.dev/service": "hello",
        "serving.knative.dev/serviceUID": "s-1",
    }
    assert revision["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Configuration",
            "name": "hello",
            "uid": "c-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert revision["spec"] == config["spec"]["template"]["spec"]
    assert "annotations" not in revision["metadata"]  # nobody modified it through the API


def test_a_revisions_creator_is_the_configurations_last_modifier() -> None:
    config = configuration()
    config["metadata"]["annotations"] = {
        "serving.knative.dev/creator": "alice",
        "serving.knative.dev/lastModifier": "bob",
    }
    annotations = make_revision(config)["metadata"]["annotations"]
    assert annotations == {"serving.knative.dev/creator": "bob"}


def test_byo_revision_names() -> None:
    cluster = Cluster()
    cluster.apply(at(configuration(), "spec.template.metadata.name", "hello-first"))
    cluster.settle()
    assert revisions(cluster) == ["hello-first"]
    assert (
        cluster.get("Configuration", "hello")["status"]["latestCreatedRevisionName"]
        == "hello-first"
    )
    cluster.apply(
        at(configuration("example.com/hello:v2"), "spec.template.metadata.name", "hello-second")
    )
    cluster.settle()
    assert revisions(cluster) == ["hello-first", "hello-second"]


def byo(name: str, image: str) -> dict[str, Any]:
    return at(configuration(image), "spec.template.metadata.name", name)


def test_rolling_back_to_an_earlier_byo_name_reuses_its_revision() -> None:
    cluster = Cluster()
    for name, image in (("hello-a", "example.com/hello:v1"), ("hello-b", "example.com/hello:v2")):
        cluster.apply(byo(name, image))
        cluster.readiness.set(name, READY)
        cluster.settle()

    cluster.apply(byo("hello-a", "example.com/hello:v1"))
    cluster.settle()
    config = cluster.get("Configuration", "hello")
    assert revisions(cluster) == ["hello-a", "hello-b"]
    status = config["status"]
    assert (status["latestCreatedRevisionName"], status["latestReadyRevisionName"]) == (
        "hello-a",
        "hello-a",
    )
    assert condition(config, "Ready")["status"] == "True"


def test_an_earlier_byo_name_with_another_spec_already_exists() -> None:
    cluster = Cluster()
    cluster.apply(byo("hello-a", "example.com/hello:v1"))
    cluster.settle()
    cluster.apply(byo("hello-b", "example.com/hello:v2"))
    cluster.readiness.set("hello-b", READY)
    cluster.settle()

    cluster.apply(byo("hello-a", "example.com/hello:v3"))
    cluster.settle()
    config = cluster.get("Configuration", "hello")
    ready = condition(config, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "RevisionFailed")
    assert ready["message"] == (
        'Revision creation failed with message: revisions.serving.knative.dev "hello-a"'
        " already exists"
    )
    assert config["status"]["latestReadyRevisionName"] == "hello-b"


def test_latest_ready_is_the_newest_ready_revision() -> None:
    cluster = Cluster()
    cluster.apply(configuration())
    cluster.readiness.set("hello-00001", READY)
    cluster.settle()
    cluster.apply(configuration("example.com/hello:v2"))
    cluster.settle()
    status = cluster.get("Configuration", "hello")["status"]
    assert (status["latestCreatedRevisionName"], status["latestReadyRevisionName"]) == (
        "hello-00002",
        "hello-00001",
    )
    assert condition(cluster.get("Configuration", "hello"), "Ready")["status"] == "Unknown"
    cluster.readiness.set("hello-00002", READY)
    cluster.settle()
    config = cluster.get("Configuration", "hello")
    assert config["status"]["latestReadyRevisionName"] == "hello-00002"
    assert condition(config, "Ready")["status"] == "True"


def test_failing_revision_fails_the_configuration_but_keeps_the_last_good_one() -> None:
    cluster = Cluster()
    cluster.apply(configuration())
    cluster.readiness.set("hello-00001", READY)
    cluster.settle()
    cluster.apply(configuration("example.com/hello:broken"))
    cluster.readiness.set("hello-00002", failing("ExitCode1", "Container failed with: boom"))
    cluster.settle()
    config = cluster.get("Configuration", "hello")
    ready = condition(config, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "RevisionFailed")
    assert (
        ready["message"]
        == 'Revision "hello-00002" failed with message: Container failed with: boom.'
    )
    assert config["status"]["latestReadyRevisionName"] == "hello-00001"
    revision = cluster.get("Revision", "hello-00002")
    revision_ready = condition(revision, "Ready")
    assert (revision_ready["status"], revision_ready["reason"]) == ("False", "ExitCode1")


def test_revision_name_taken_by_another_owner() -> None:
    config = at(configuration(), "metadata.uid", "mine")
    squatter = {
        "metadata": {
            "name": "hello-00001",
            "ownerReferences": [
                {
                    "kind": "Configuration",
                    "name": "hello",
                    "uid": "someone-else",
                    "controller": True,
                }
            ],
        }
    }
    decision = reconcile_configuration(config, revisions=[squatter], now=NOW)
    assert decision.revision is None
    [ready] = decision.status["conditions"]
    assert (ready["status"], ready["reason"]) == ("False", "RevisionFailed")
    assert '"hello-00001" already exists' in ready["message"]


def test_reconcile_is_idempotent() -> None:
    config = at(configuration(), "metadata.uid", "c-1")
    first = reconcile_configuration(config, revisions=[], now=NOW)
    assert first.revision is not None
    config["status"] = first.status
    second = reconcile_configuration(config, revisions=[first.revision], now=NOW)
    assert second.revision is None
    assert second.status == first.status
