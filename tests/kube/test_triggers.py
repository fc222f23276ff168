"""The Triggers deploy makes from `deploy.subscriptions`, and how it brings the ones it
made before in line: kept, updated, recreated when the (immutable) broker changes,
deleted when no longer listed, with a dry-run form valid before anything changes."""

from typing import Any

from unkai.api import funcyaml
from unkai.kube.manifests import FUNCTION_LABEL, make_triggers, trigger_changes


def wanted(subscriptions: str) -> list[dict[str, Any]]:
    spec = funcyaml.parse(f"name: hello\ndeploy:\n  subscriptions: {subscriptions}\n")
    return make_triggers(spec, namespace="shop")


def existing(*brokers: str) -> list[dict[str, Any]]:
    return [
        {"metadata": {"name": f"hello-{index}"}, "spec": {"broker": broker}}
        for index, broker in enumerate(brokers)
    ]


def test_triggers_carry_the_function_label_and_point_at_its_service() -> None:
    [trigger] = wanted("[{broker: orders, filters: {type: com.example.placed}}]")
    assert trigger["metadata"] == {
        "name": "hello-0",
        "namespace": "shop",
        "labels": {FUNCTION_LABEL: "hello"},
    }
    assert trigger["spec"]["broker"] == "orders"
    assert trigger["spec"]["filter"] == {"attributes": {"type": "com.example.placed"}}
    assert trigger["spec"]["subscriber"]["ref"]["name"] == "hello"


def test_new_and_unchanged_triggers_are_applied_in_place() -> None:
    triggers = wanted("[{broker: default}, {broker: orders}]")
    changes = trigger_changes(triggers, existing("default"))
    assert (changes.apply, changes.recreate, changes.delete) == (triggers, [], [])
    assert changes.checks == triggers


def test_triggers_no_longer_listed_are_deleted() -> None:
    triggers = wanted("[{broker: default}]")
    changes = trigger_changes(triggers, existing("default", "default", "orders"))
    assert changes.delete == ["hello-1", "hello-2"]
    assert trigger_changes([], existing("default")).delete == ["hello-0"]


def test_a_changed_broker_recreates_the_trigger_and_is_checked_with_the_old_one() -> None:
    triggers = wanted("[{broker: default}, {broker: payments, filters: {type: x}}]")
    changes = trigger_changes(triggers, existing("default", "orders"))
    assert changes.apply == [triggers[0]]
    assert changes.recreate == [triggers[1]]
    assert changes.delete == []
    checked = changes.checks[1]
    assert checked["spec"]["broker"] == "orders"  # what the API accepts before the delete
    assert checked["spec"]["filter"] == triggers[1]["spec"]["filter"]
    assert triggers[1]["spec"]["broker"] == "payments"  # the wanted Trigger is untouched
