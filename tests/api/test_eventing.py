"""Broker, Trigger and PingSource admission.

Aspects: Broker class annotation and delivery defaults, immutable class and config;
Trigger broker required and immutable, filter attribute names, one dialect per filter,
unknown dialects refused, CESQL parsed at admission (the error's position in the
message, nested filters too), filters that could never work refused (empty
``exact``/``prefix``/``suffix`` values, unknown CESQL functions, non-Boolean CESQL),
subscriber ``ref``/``uri`` rules and namespace defaulting; PingSource schedule,
timezone, sink and data rules.
"""

from typing import Any

import pytest

from tests.api.manifests import admit, at
from unkai.api.knative import broker, pingsource, trigger


def a_broker() -> dict[str, Any]:
    return {
        "apiVersion": "eventing.knative.dev/v1",
        "kind": "Broker",
        "metadata": {"name": "default", "namespace": "default"},
    }


def test_broker_defaults() -> None:
    defaulted = broker.default(a_broker())
    assert defaulted["metadata"]["annotations"] == {
        "eventing.knative.dev/broker.class": "MTChannelBasedBroker"
    }
    assert defaulted["spec"]["delivery"] == {
        "retry": 10,
        "backoffPolicy": "exponential",
        "backoffDelay": "PT0.2S",
    }
    assert admit(a_broker()) == []


@pytest.mark.parametrize(
    ("path", "value", "found"),
    [
        ("spec.delivery", {"retry": -1}, [("spec.delivery.retry", "invalid value: -1")]),
        (
            "spec.delivery",
            {"backoffPolicy": "fibonacci"},
            [("spec.delivery.backoffPolicy", "invalid value: fibonacci")],
        ),
        (
            "spec.delivery",
            {"backoffDelay": "1s"},
            [("spec.delivery.backoffDelay", "invalid value: 1s")],
        ),
        ("spec.delivery", {"timeout": "PT0S"}, [("spec.delivery.timeout", "invalid value: PT0S")]),
        ("spec.delivery", {"format": "xml"}, [("spec.delivery.format", "invalid value: xml")]),
        (
            "spec.delivery",
            {"deadLetterSink": {"uri": "/relative"}},
            [
                (
                    "spec.delivery.deadLetterSink.uri",
                    "invalid value: Relative URI is not allowed when Ref and "
                    "[apiVersion, kind, name] is absent",
                )
            ],
        ),
        (
            "spec.config",
            {"kind": "ConfigMap"},
            [
                ("spec.config.name", "missing field(s)"),
                ("spec.config.apiVersion", "missing field(s)"),
            ],
        ),
    ],
)
def test_broker_rules(path: str, value: Any, found: list[tuple[str, str]]) -> None:
    assert admit(at(a_broker(), path, value)) == found


def test_broker_class_and_config_are_immutable_delivery_is_not() -> None:
    old = at(a_broker(), "spec.config", {"apiVersion": "v1", "kind": "ConfigMap", "name": "a"})
    assert admit(at(old, "spec.delivery", {"retry": 3}), old) == []
    [(field, message)] = admit(at(old, "spec.config.name", "b"), old)
    assert (field, message.splitlines()[0]) == ("spec", "Immutable fields changed (-old +new)")
    changed_class = at(old, "metadata.annotations", {"eventing.knative.dev/broker.class": "Kafka"})
    [(field, message)] = admit(changed_class, old)
    assert (field, message.splitlines()[0]) == (
        "metadata.annotations",
        "Immutable annotations changed (-old +new)",
    )


def a_trigger(**spec: Any) -> dict[str, Any]:
    body = {
        "broker": "default",
        "subscriber": {
            "ref": {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "hello"}
        },
    }
    body.update(spec)
    return {
        "apiVersion": "eventing.knative.dev/v1",
        "kind": "Trigger",
        "metadata": {"name": "on-order", "namespace": "shop"},
        "spec": body,
    }


def test_trigger_defaults() -> None:
    defaulted = trigger.default(a_trigger())
    assert defaulted["spec"]["filter"] == {}
    assert defaulted["spec"]["subscriber"]["ref"]["namespace"] == "shop"
    assert defaulted["metadata"]["labels"] == {"eventing.knative.dev/broker": "default"}
    assert admit(a_trigger()) == []


@pytest.mark.parametrize(
    ("spec", "found"),
    [
        ({"broker": ""}, [("spec.broker", "missing field(s)")]),
        ({"subscriber": {}}, [("spec.subscriber", "expected at least one, got none: ref, uri")]),
        ({"subscriber": {"uri": "http://example.com/events"}}, []),
        (
            {
                "subscriber": {
                    "ref": {"apiVersion": "v1", "kind": "Service", "name": "x"},
                    "uri": "/path",
                }
            },
            [],
        ),
        (
            {
                "subscriber": {
                    "ref": {"apiVersion": "v1", "kind": "Service", "name": "x"},
                    "uri": "http://example.com",
                }
            },
            [
                (
                    "spec.subscriber",
                    "Absolute URI is not allowed when Ref or [apiVersion, kind, name] exists",
                )
            ],
        ),
        (
            {"subscriber": {"ref": {"kind": "Service", "name": "x"}}},
            [("spec.subscriber.ref.apiVersion", "missing field(s)")],
        ),
        (
            {
                "subscriber": {
                    "ref": {
                        "apiVersion": "v1",
                        "kind": "Service",
                        "name": "x",
                        "namespace": "other",
                    }
                }
            },
            [
                (
                    "spec.subscriber.ref.namespace",
                    'mismatched namespaces: parent namespace: "shop" does not match ref: "other"',
                )
            ],
        ),
        ({"filter": {"attributes": {"type": "order.created", "source": ""}}}, []),
        (
            {"filter": {"attributes": {"Type": "x"}}},
            [
                (
                    "spec.filter.attributes.Type",
                    'invalid key name "Type": Attribute name must start with a letter and can only '
                    "contain lowercase alphanumeric",
                )
            ],
        ),
        ({"filters": [{"exact": {"type": "a"}}, {"prefix": {"source": "/shop"}}]}, []),
        (
            {"filters": [{"exact": {"type": "a"}, "suffix": {"source": "x"}}]},
            [("spec.filters[0]", "multiple dialects found, filters can have only one dialect set")],
        ),
        (
            {"filters": [{"exact": {"type": "a", "source": "b"}}]},
            [("spec.filters[0].exact", "Multiple items found, can have only one key-value")],
        ),
        (
            {"filters": [{"any": [{"exact": {"type": "a"}}, {"not": {"prefix": {"Type": "b"}}}]}]},
            [
                (
                    "spec.filters[0].any[1].not.prefix.Type",
                    'invalid key name "Type": Attribute name must start with a letter and can only '
                    "contain lowercase alphanumeric",
                )
            ],
        ),
        ({"filters": [{"cesql": "type = 'a'"}]}, []),
        (
            {"filters": [{"cesql": "type = 'a' AND"}]},
            [
                (
                    "spec.filters[0].cesql",
                    "invalid value: type = 'a' AND: parse error: unexpected end of expression "
                    "at column 15",
                )
            ],
        ),
        (
            {"filters": [{"all": [{"exact": {"type": "a"}}, {"not": {"cesql": "x LIKE 1"}}]}]},
            [
                (
                    "spec.filters[0].all[1].not.cesql",
                    "invalid value: x LIKE 1: parse error: LIKE needs a string literal pattern, "
                    "found '1' at column 8",
                )
            ],
        ),
        (
            {"filters": [{"cesql": "LENGHT(type) > 3"}]},
            [
                (
                    "spec.filters[0].cesql",
                    "invalid value: LENGHT(type) > 3: unknown function LENGHT with 1 "
                    "argument(s) at column 1",
                )
            ],
        ),
        (
            {"filters": [{"cesql": "CONCAT(type, source)"}]},
            [
                (
                    "spec.filters[0].cesql",
                    "invalid value: CONCAT(type, source): the expression is a String, never "
                    "the Boolean a filter needs",
                )
            ],
        ),
        (
            {"filters": [{"prefix": {"type": ""}}]},
            [
                (
                    "spec.filters[0].prefix.type",
                    "invalid arguments, attribute and value can't be empty",
                )
            ],
        ),
        (
            {"filters": [{"regex": {"type": "a.*"}}]},
            [("spec.filters[0].regex", "must not set the field(s)")],
        ),
        ({"filters": [{"cesql": ""}, {}]}, []),
    ],
)
def test_trigger_rules(spec: dict[str, Any], found: list[tuple[str, str]]) -> None:
    assert admit(a_trigger(**spec)) == found


def test_trigger_broker_is_immutable() -> None:
    old = a_trigger()
    [(field, message)] = admit(a_trigger(broker="other"), old)
    assert field == "spec.broker"
    assert (
        message
        == 'Immutable fields changed (-old +new)\nspec.broker:\n\t-: "default"\n\t+: "other"'
    )
    assert admit(a_trigger(filter={"attributes": {"type": "x"}}), old) == []


def test_trigger_cesql_is_checked_on_update_too() -> None:
    old = a_trigger(filters=[{"cesql": "type = 'a'"}])
    [(field, message)] = admit(a_trigger(filters=[{"cesql": "type = = 'a'"}]), old)
    assert field == "spec.filters[0].cesql"
    assert message.endswith("parse error: unexpected '=' at column 8")


def a_pingsource(**spec: Any) -> dict[str, Any]:
    body = {
        "schedule": "*/2 * * * *",
        "sink": {
            "ref": {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "hello"}
        },
    }
    body.update(spec)
    return {
        "apiVersion": "sources.knative.dev/v1",
        "kind": "PingSource",
        "metadata": {"name": "every-2m", "namespace": "default"},
        "spec": body,
    }


def test_pingsource_defaults() -> None:
    defaulted = pingsource.default(a_pingsource(schedule=""))
    assert defaulted["spec"]["schedule"] == "* * * * *"
    assert defaulted["spec"]["sink"]["ref"]["namespace"] == "default"


@pytest.mark.parametrize(
    ("spec", "found"),
    [
        (
            {
                "schedule": "10 0/1 * * * ?",
                "data": '{"message": "hi"}',
                "contentType": "application/json",
            },
            [],
        ),
        ({"schedule": "@hourly", "timezone": "Europe/Berlin"}, []),
        (
            {"schedule": "* * *"},
            [("spec.schedule", "invalid value: expected 5 to 6 fields, found 3: [* * *]")],
        ),
        (
            {"schedule": "0 25 * * *"},
            [("spec.schedule", "invalid value: end of range (25) above maximum (23): 25")],
        ),
        (
            {"timezone": "Mars/Olympus"},
            [
                (
                    "spec.timezone",
                    "invalid value: provided bad location Mars/Olympus: "
                    "'No time zone found with key Mars/Olympus'",
                )
            ],
        ),
        ({"sink": None}, [("spec.sink", "expected at least one, got none: ref, uri")]),
        (
            {"data": "a", "dataBase64": "YQ=="},
            [("spec", "expected exactly one, got both: data, dataBase64")],
        ),
        (
            {"dataBase64": "not base64!"},
            [("spec.dataBase64", "invalid value: Only base64 data is allowed")],
        ),
        (
            {"data": "{not json", "contentType": "application/json"},
            [
                (
                    "spec.data",
                    "invalid value: Expecting property name enclosed in double quotes: "
                    "line 1 column 2 (char 1)",
                )
            ],
        ),
        ({"dataBase64": "e30=", "contentType": "application/json"}, []),
        (
            {"ceOverrides": {"extensions": {"Bad-Key": "x"}}},
            [
                (
                    "spec.ceOverrides.extensions.Bad-Key",
                    'invalid key name "Bad-Key": keys are expected to be alphanumeric',
                )
            ],
        ),
    ],
)
def test_pingsource_rules(spec: dict[str, Any], found: list[tuple[str, str]]) -> None:
    assert admit(a_pingsource(**spec)) == found
