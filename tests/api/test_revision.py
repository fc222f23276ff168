"""Revision, Configuration and Route admission beyond what a Service shares.

Aspects: a Revision's spec is immutable after creation (with a readable diff) while
its metadata is not; controller labels must match owner references; a standalone
Route must name every target and gets no default traffic.
"""

from typing import Any

import pytest

from tests.api.manifests import admit, at


def revision(**meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Revision",
        "metadata": {"name": "hello-00001", "namespace": "default", **meta},
        "spec": {"containers": [{"image": "example.com/hello:v1"}]},
    }


def test_revision_spec_is_immutable() -> None:
    old = revision()
    new = at(old, "spec.containers[0].image", "example.com/hello:v2")
    [(field, message)] = admit(new, old)
    assert field == "spec"
    assert message == (
        "Immutable fields changed (-old +new)\n"
        "spec.containers[0].image:\n"
        '\t-: "example.com/hello:v1"\n'
        '\t+: "example.com/hello:v2"'
    )


def test_revision_metadata_may_change() -> None:
    old = revision()
    assert admit(at(old, "metadata.labels", {"team": "a"}), old) == []


def test_revision_update_with_same_spec_passes_even_if_invalid_now() -> None:
    old = at(revision(), "spec.timeoutSeconds", 900)
    assert admit(old, old) == []


@pytest.mark.parametrize(
    ("labels", "owners", "found"),
    [
        (
            {"serving.knative.dev/configuration": "hello"},
            [{"kind": "Configuration", "name": "hello", "controller": True}],
            [],
        ),
        (
            {"serving.knative.dev/configuration": "hello"},
            [],
            [("metadata.labels.serving.knative.dev/configuration", "missing field(s)")],
        ),
        ({"serving.knative.dev/configurationGeneration": "1"}, [], []),
        (
            {"serving.knative.dev/revision": "x"},
            [],
            [
                (
                    "metadata.labels.serving.knative.dev/revision",
                    'invalid key name "serving.knative.dev/revision"',
                )
            ],
        ),
    ],
)
def test_revision_labels_owned_by_controllers(
    labels: dict[str, str], owners: list[dict[str, Any]], found: list[tuple[str, str]]
) -> None:
    assert admit(revision(labels=labels, ownerReferences=owners)) == found


def route(traffic: Any) -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Route",
        "metadata": {"name": "blue-green", "namespace": "default"},
        "spec": {"traffic": traffic},
    }


@pytest.mark.parametrize(
    ("traffic", "found"),
    [
        ([{"configurationName": "hello", "percent": 100}], []),
        (
            [
                {"revisionName": "hello-00001", "percent": 50},
                {"revisionName": "hello-00002", "percent": 50, "tag": "green"},
            ],
            [],
        ),
        ([], [("spec.traffic", "Traffic targets sum to 0, want 100")]),
        (
            [{"percent": 100}],
            [
                (
                    "spec.traffic[0]",
                    "expected exactly one, got neither: revisionName, configurationName",
                )
            ],
        ),
        (
            [{"percent": 100, "revisionName": "a", "configurationName": "b"}],
            [
                (
                    "spec.traffic[0]",
                    "expected exactly one, got both: revisionName, configurationName",
                )
            ],
        ),
    ],
)
def test_route_targets(traffic: Any, found: list[tuple[str, str]]) -> None:
    assert admit(route(traffic)) == found


def configuration(**meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Configuration",
        "metadata": {"name": "hello", "namespace": "default", **meta},
        "spec": {"template": {"spec": {"containers": [{"image": "example.com/hello"}]}}},
    }


def test_configuration_service_label_needs_the_service_as_owner() -> None:
    labels = {"serving.knative.dev/service": "hello"}
    assert admit(configuration(labels=labels)) == [
        ("metadata.labels.serving.knative.dev/service", "missing field(s)")
    ]
    owners = [{"kind": "Service", "name": "hello", "controller": True}]
    assert admit(configuration(labels=labels, ownerReferences=owners)) == []


def test_configuration_template_follows_revision_rules() -> None:
    manifest = at(configuration(), "spec.template.spec.containerConcurrency", 5000)
    assert admit(manifest) == [
        ("spec.template.spec.containerConcurrency", "expected 0 <= 5000 <= 1000")
    ]
