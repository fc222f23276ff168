"""The eventing reconcilers, pure: statuses and plans from objects and time."""

import json
from datetime import UTC, datetime
from typing import Any

from unkai.platform.contracts import DeliveryPlan
from unkai.platform.controllers.eventing import (
    reconcile_broker,
    reconcile_ping,
    reconcile_trigger,
    resolve,
)

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
SERVICE_URL = "http://orders.default.svc.cluster.local"  # a Service's address, as Knative's


def objects(*items: tuple[str, dict[str, Any]]) -> Any:
    table = {(kind, obj["metadata"]["namespace"], obj["metadata"]["name"]): obj
             for kind, obj in items}  # fmt: skip
    return lambda kind, namespace, name: table.get((kind, namespace, name))


def meta(name: str) -> dict[str, Any]:
    return {"name": name, "namespace": "default", "generation": 2}


def conditions(status: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in status["conditions"]}


READY_BROKER = {"metadata": meta("default"), "spec": {"delivery": {"retry": 3,
                "backoffDelay": "PT0.5S", "deadLetterSink": {"uri": "http://dead/"}}},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]}}  # fmt: skip
SERVICE = {"metadata": meta("orders"), "status": {"address": {"url": SERVICE_URL}}}
LOOKUP = objects(("brokers.eventing.knative.dev", READY_BROKER),
                 ("services.serving.knative.dev", SERVICE))  # fmt: skip


def test_a_broker_is_ready_at_knative_s_ingress_address() -> None:
    decision = reconcile_broker(READY_BROKER, domain="localhost", port=8080, lookup=LOOKUP, now=NOW)
    url = "http://broker-ingress.knative-eventing.localhost:8080/default/default"
    assert decision.ready
    assert decision.status["address"] == {"name": "http", "url": url}
    assert decision.status["deadLetterSinkUri"] == "http://dead/"
    assert decision.status["observedGeneration"] == 2
    assert conditions(decision.status)["Ready"] == "True"


def test_a_service_ref_with_a_path_resolves_relative_to_the_service_address() -> None:
    destination = {"ref": {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
                           "name": "orders"}, "uri": "/hook"}  # fmt: skip
    assert resolve(destination, "default", LOOKUP).uri == f"{SERVICE_URL}/hook"
    missing = {"ref": {**destination["ref"], "name": "nope"}}
    assert resolve(missing, "default", LOOKUP).uri is None


def test_a_trigger_without_delivery_takes_the_broker_s_whole() -> None:
    trigger = {"metadata": meta("t"), "spec": {"broker": "default", "subscriber": {"ref": {
               "apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "orders"}},
               "filter": {"attributes": {"type": "order"}}}}  # fmt: skip
    decision = reconcile_trigger(trigger, lookup=LOOKUP, now=NOW)
    assert decision.plan is not None
    assert decision.plan.subscriber_uri == SERVICE_URL
    assert decision.plan.filter_attributes == (("type", "order"),)
    assert decision.plan.delivery == DeliveryPlan(
        retry=3, backoff_policy="exponential", backoff_delay=0.5, dead_letter_uri="http://dead/"
    )
    assert decision.status["subscriberUri"] == SERVICE_URL
    assert set(conditions(decision.status).values()) == {"True"}


def test_a_trigger_whose_subscriber_has_no_address_is_not_ready_and_says_why() -> None:
    ref = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "gone"}
    trigger = {"metadata": meta("t"), "spec": {"broker": "default", "subscriber": {"ref": ref}}}
    decision = reconcile_trigger(trigger, lookup=LOOKUP, now=NOW)
    assert decision.plan is None
    found = conditions(decision.status)
    assert found["SubscriberResolved"] == "False"
    assert found["Ready"] == "False"
    assert "subscriberUri" not in decision.status


def test_a_ping_source_plan_decodes_data_base64_and_keeps_overrides() -> None:
    source = {"metadata": meta("p"), "spec": {"schedule": "*/5 * * * *", "timezone": "UTC",
              "dataBase64": "aGk=", "contentType": "text/plain",
              "ceOverrides": {"extensions": {"team": "blue"}},
              "sink": {"uri": "http://sink/"}}}  # fmt: skip
    decision = reconcile_ping(source, lookup=LOOKUP, now=NOW)
    assert decision.plan is not None
    assert decision.plan.data == b"hi"
    assert decision.plan.extensions == (("team", "blue"),)
    assert decision.status["sinkUri"] == "http://sink/"
    assert conditions(decision.status) == {"Deployed": "True", "Ready": "True",
                                           "SinkProvided": "True"}  # fmt: skip


def test_a_trigger_waits_for_the_ping_source_it_depends_on() -> None:
    dependency = {"kind": "PingSource", "name": "tick", "apiVersion": "sources.knative.dev/v1"}
    annotation = {"knative.dev/dependency": json.dumps(dependency)}
    trigger = {"metadata": {**meta("t"), "annotations": annotation},
               "spec": {"broker": "default", "subscriber": {"uri": "http://sub/"}}}  # fmt: skip
    source = {"metadata": meta("tick"), "status": {"conditions": []}}
    waiting = reconcile_trigger(trigger, lookup=objects(
        ("brokers.eventing.knative.dev", READY_BROKER),
        ("pingsources.sources.knative.dev", source)), now=NOW)  # fmt: skip
    assert conditions(waiting.status)["DependencyReady"] == "Unknown"
    assert waiting.plan is None
    source["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    ready = reconcile_trigger(trigger, lookup=objects(
        ("brokers.eventing.knative.dev", READY_BROKER),
        ("pingsources.sources.knative.dev", source)), now=NOW)  # fmt: skip
    assert conditions(ready.status)["DependencyReady"] == "True"
    assert ready.plan is not None
