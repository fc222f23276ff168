"""Service → Configuration and Route builders, and Service status.

Aspects: children named after the Service, owned by it, labelled, without kubectl's
last-applied annotation; traffic bound to the Service's Configuration; children not
owned by the Service are left alone and reported (and a foreign Configuration stops
the Route); out-of-date children and a Route that lags the latest ready Revision keep
the Service from claiming Ready, new labels alone do not.
"""

from datetime import UTC, datetime
from typing import Any

from tests.api.manifests import service
from unkai.api.knative import service as service_kind
from unkai.platform.controllers import conditions
from unkai.platform.controllers.service import make_configuration, make_route, reconcile_service

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def hello(**spec: Any) -> dict[str, Any]:
    obj = service_kind.default(service(**spec))
    obj["metadata"].update(
        uid="s-1",
        generation=1,
        labels={"team": "a"},
        annotations={"kubectl.kubernetes.io/last-applied-configuration": "{}", "note": "x"},
    )
    return obj


def test_children_are_owned_and_labelled() -> None:
    owner = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "name": "hello",
        "uid": "s-1",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    config = make_configuration(hello())
    assert config["metadata"]["ownerReferences"] == [owner]
    assert config["metadata"]["labels"] == {
        "team": "a",
        "serving.knative.dev/service": "hello",
        "serving.knative.dev/serviceUID": "s-1",
    }
    assert config["metadata"]["annotations"] == {"note": "x"}
    assert config["spec"] == {"template": hello()["spec"]["template"]}
    route = make_route(hello())
    assert route["metadata"]["labels"] == {"team": "a", "serving.knative.dev/service": "hello"}
    assert route["metadata"]["ownerReferences"] == [owner]


def test_route_targets_bind_to_the_service_configuration() -> None:
    traffic = [
        {"tag": "current", "revisionName": "hello-00001", "percent": 50},
        {"tag": "latest", "percent": 50},
    ]
    assert make_route(hello(traffic=traffic))["spec"]["traffic"] == [
        {"tag": "current", "revisionName": "hello-00001", "percent": 50, "latestRevision": False},
        {"tag": "latest", "percent": 50, "latestRevision": True, "configurationName": "hello"},
    ]


def test_first_reconcile_creates_both_children() -> None:
    decision = reconcile_service(hello(), configuration=None, route=None, now=NOW)
    assert decision.configuration == make_configuration(hello())
    assert decision.route == make_route(hello())
    ready = conditions.find(decision.status, "Ready")
    assert ready is not None
    assert ready.status == "Unknown"


def owned(child: dict[str, Any], **status: Any) -> dict[str, Any]:
    child["metadata"]["generation"] = 1
    child["status"] = {"observedGeneration": 1, **status}
    return child


def ready_status(**fields: Any) -> dict[str, Any]:
    return {"conditions": [{"type": "Ready", "status": "True"}], **fields}


def test_child_not_owned_is_left_alone() -> None:
    stranger = owned(
        make_configuration(hello()),
        **ready_status(latestReadyRevisionName="hello-00001", latestCreatedRevisionName="x"),
    )
    stranger["metadata"]["ownerReferences"] = []
    decision = reconcile_service(hello(), configuration=stranger, route=None, now=NOW)
    assert decision.configuration is None
    assert decision.route is None  # Knative stops at the Configuration: nothing is served
    assert "latestReadyRevisionName" not in decision.status  # not ours to report
    routes_ready = conditions.find(decision.status, "RoutesReady")
    assert routes_ready is not None
    assert routes_ready.status == "Unknown"
    found = conditions.find(decision.status, "ConfigurationsReady")
    assert found is not None
    assert (found.status, found.reason, found.message) == (
        "False",
        "NotOwned",
        'There is an existing Configuration "hello" that we do not own.',
    )


def test_a_child_no_longer_ours_takes_its_fields_out_of_the_service_status() -> None:
    reported = {
        "url": "http://hello.default.localhost",
        "address": {"url": "http://hello.default.localhost"},
        "traffic": [{"revisionName": "hello-00001", "latestRevision": True, "percent": 100}],
        "latestReadyRevisionName": "hello-00001",
        "latestCreatedRevisionName": "hello-00001",
    }
    service = {**hello(), "status": {"observedGeneration": 1, **reported}}
    stranger = owned(make_configuration(hello()), **ready_status(**reported))
    stranger["metadata"]["ownerReferences"] = []
    decision = reconcile_service(service, configuration=stranger, route=None, now=NOW)
    assert set(decision.status) == {"observedGeneration", "conditions"}


def test_changed_template_updates_the_configuration_and_marks_it_out_of_date() -> None:
    config = owned(make_configuration(hello()), **ready_status())
    changed = hello()
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "example.com/v2"
    decision = reconcile_service(changed, configuration=config, route=None, now=NOW)
    assert decision.configuration is not None
    assert decision.configuration["spec"] == make_configuration(changed)["spec"]
    assert decision.configuration["metadata"]["generation"] == 1  # the store bumps it
    found = conditions.find(decision.status, "ConfigurationsReady")
    assert found is not None
    assert (found.status, found.reason) == ("Unknown", "OutOfDate")


def test_new_labels_alone_update_the_children_without_leaving_ready() -> None:
    config = owned(
        make_configuration(hello()),
        **ready_status(
            latestReadyRevisionName="hello-00001", latestCreatedRevisionName="hello-00001"
        ),
    )
    serving = [{"revisionName": "hello-00001", "latestRevision": True, "percent": 100}]
    route = owned(make_route(hello()), **ready_status(traffic=serving, url="http://x"))
    relabelled = hello()
    relabelled["metadata"]["labels"]["team"] = "b"
    decision = reconcile_service(relabelled, configuration=config, route=route, now=NOW)
    assert decision.configuration is not None
    assert decision.configuration["metadata"]["labels"]["team"] == "b"
    assert decision.route is not None
    ready = conditions.find(decision.status, "Ready")
    assert ready is not None
    assert ready.status == "True"


def test_route_lagging_the_latest_ready_revision_is_not_ready() -> None:
    config = owned(
        make_configuration(hello()), **ready_status(latestReadyRevisionName="hello-00002")
    )
    lagging = [{"revisionName": "hello-00001", "latestRevision": True, "percent": 100}]
    route = owned(make_route(hello()), **ready_status(traffic=lagging, url="http://x"))
    decision = reconcile_service(hello(), configuration=config, route=route, now=NOW)
    found = conditions.find(decision.status, "RoutesReady")
    assert found is not None
    assert (found.status, found.reason) == ("Unknown", "RouteNotYetReady")
    assert decision.status["url"] == "http://x"
    assert (decision.configuration, decision.route) == (None, None)


def test_reconcile_is_idempotent_on_its_own_output() -> None:
    config = owned(
        make_configuration(hello()),
        **ready_status(
            latestReadyRevisionName="hello-00001", latestCreatedRevisionName="hello-00001"
        ),
    )
    serving = [{"revisionName": "hello-00001", "latestRevision": True, "percent": 100}]
    route = owned(make_route(hello()), **ready_status(traffic=serving, url="http://x"))
    first = reconcile_service(hello(), configuration=config, route=route, now=NOW)
    svc = {**hello(), "status": first.status}
    second = reconcile_service(svc, configuration=config, route=route, now=NOW)
    assert second == first
    ready = conditions.find(first.status, "Ready")
    assert ready is not None
    assert ready.status == "True"
