"""Trigger filters compiled from a Trigger's spec: which events each dialect lets through.

Aspects: no filter lets everything through; legacy ``filter.attributes`` (exact,
case-sensitive, empty value = present and not empty, extensions as keys, every key
required); ``filters`` wins over ``filter`` and ANDs its elements; ``exact``,
``prefix`` and ``suffix`` compare string forms and fail on a missing attribute;
``all``, ``any``, ``not`` nest; ``cesql`` passes only on true without error; an element
with no dialect is "no filter" (Knative's three outcomes); a bad CESQL expression does
not compile; events arrive as the SDK's typed attributes.
"""

from datetime import UTC, datetime
from typing import Any

import pytest
from cloudevents.core.v1.event import CloudEvent

from unkai.events import cesql, filters


def event(**extra: object) -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": "e-1",
        "source": "http://source1.com",
        "type": "type1",
        **extra,
    }


def passes(spec: dict[str, Any], attributes: dict[str, object]) -> bool:
    return filters.compile(spec).matches(attributes)


@pytest.mark.parametrize(
    "spec", [{}, {"filter": {}}, {"filter": {"attributes": {}}}, {"filters": []}]
)
def test_no_filter_passes_everything(spec: dict[str, Any]) -> None:
    assert passes(spec, event())


# Knative's ManyTriggers matrix: two types, two sources, two extensions, "" = any value.
MATRIX = [
    ({"type": "type1"}, event(), True),
    ({"type": "type1"}, event(type="type2"), False),
    ({"type": "Type1"}, event(), False),
    ({"source": "http://source1.com", "type": ""}, event(), True),
    ({"source": "http://source2.com", "type": ""}, event(), False),
    ({"extname1": "extval1"}, event(extname1="extval1"), True),
    ({"extname1": "extval1"}, event(extname1="extval2"), False),
    ({"extname1": ""}, event(extname1="extval1"), True),
    ({"extname1": ""}, event(), False),
    ({"extname1": ""}, event(extname1=""), False),
    ({"extname1": "", "extname2": "extvalue2"}, event(extname1="a", extname2="extvalue2"), True),
    ({"extname1": "", "extname2": "extvalue2"}, event(extname2="extvalue2"), False),
    ({"subject": ""}, event(), False),
    ({"count": "42"}, event(count=42), True),
    ({"flag": "true"}, event(flag=True), True),
]


@pytest.mark.parametrize(("attributes", "received", "expected"), MATRIX)
def test_legacy_attributes(
    attributes: dict[str, str], received: dict[str, object], expected: bool
) -> None:
    assert passes({"filter": {"attributes": attributes}}, received) is expected


def only(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"filters": list(elements)}


DIALECTS = [
    ({"exact": {"type": "type1"}}, event(), True),
    ({"exact": {"type": "type"}}, event(), False),
    ({"exact": {"ext": "x"}}, event(), False),
    ({"exact": {"priority": "7"}}, event(priority=7), True),
    ({"prefix": {"type": "ty"}}, event(), True),
    ({"prefix": {"type": "pe"}}, event(), False),
    ({"prefix": {"ext": "x"}}, event(), False),
    ({"suffix": {"source": ".com"}}, event(), True),
    ({"suffix": {"source": ".org"}}, event(), False),
    ({"suffix": {"ext": "x"}}, event(), False),
    ({"cesql": "type = 'type1'"}, event(), True),
    ({"cesql": "type LIKE '%2'"}, event(), False),
    ({"cesql": "ext = 'x'"}, event(), False),  # missing attribute: an error, no match
    ({"cesql": "NOT (ext = 'x')"}, event(), False),
    ({"cesql": "'type1'"}, event(), False),  # not a Boolean
    ({"not": {"exact": {"type": "type1"}}}, event(), False),
    ({"not": {"exact": {"type": "type2"}}}, event(), True),
    ({"not": {"exact": {"ext": "x"}}}, event(), True),
    ({"not": {"cesql": "ext = 'x'"}}, event(), True),
    ({"all": [{"exact": {"type": "type1"}}, {"prefix": {"source": "http://"}}]}, event(), True),
    ({"all": [{"exact": {"type": "type1"}}, {"prefix": {"source": "https"}}]}, event(), False),
    ({"any": [{"exact": {"type": "type2"}}, {"suffix": {"source": ".com"}}]}, event(), True),
    ({"any": [{"exact": {"type": "type2"}}, {"suffix": {"source": ".org"}}]}, event(), False),
    (
        {"any": [{"exact": {"type": "type2"}}, {"not": {"cesql": "source LIKE '%.com'"}}]},
        event(),
        False,
    ),
    (
        {
            "all": [
                {"any": [{"exact": {"type": "type2"}}, {"prefix": {"type": "type"}}]},
                {"not": {"all": [{"exact": {"ext": "a"}}, {"exact": {"type": "type1"}}]}},
            ]
        },
        event(ext="b"),
        True,
    ),
]


@pytest.mark.parametrize(("element", "received", "expected"), DIALECTS)
def test_each_dialect(element: dict[str, Any], received: dict[str, object], expected: bool) -> None:
    assert passes(only(element), received) is expected


def test_filters_are_anded_and_win_over_filter() -> None:
    spec = only({"exact": {"type": "type1"}}, {"prefix": {"source": "http://source2"}})
    assert not passes(spec, event())
    assert passes(spec, event(source="http://source2.com"))
    overridden = {"filter": {"attributes": {"type": "type2"}}, **only({"exact": {"type": "type1"}})}
    assert passes(overridden, event())


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        ({}, True),  # no dialect: "no filter"
        ({"cesql": ""}, True),
        ({"all": []}, True),
        ({"any": []}, True),
        ({"not": {}}, True),  # Knative: not(no filter) is still no filter
        ({"not": {"any": []}}, True),
        ({"any": [{}, {"exact": {"type": "type2"}}]}, False),  # skipped, then exact fails
        ({"any": [{"exact": {"type": "type2"}}, {"not": {}}]}, True),  # last part: no filter
        ({"all": [{"not": {}}, {"exact": {"type": "type2"}}]}, False),
        ({"not": {"all": [{"exact": {"type": "type1"}}, {"not": {}}]}}, True),
        ({"exact": {"type": ""}}, True),  # Knative skips an empty value (admission refuses)
    ],
)
def test_knative_no_filter_outcome(element: dict[str, Any], expected: bool) -> None:
    assert passes(only(element), event()) is expected


def test_the_sdk_event_attributes_are_understood() -> None:
    sent = CloudEvent(
        attributes={
            "type": "com.example.paid",
            "source": "/shop",
            "id": "p-1",
            "time": datetime(2026, 12, 5, 9, 30, tzinfo=UTC),
            "amount": 120,
            "vip": True,
        }
    )
    received = sent.get_attributes()
    assert passes(only({"exact": {"time": "2026-12-05T09:30:00Z"}}), received)
    assert passes(only({"cesql": "amount > 100 AND vip AND time LIKE '2026-12-%'"}), received)
    assert not passes(only({"cesql": "EXISTS subject"}), received)


def test_a_bad_expression_does_not_compile() -> None:
    with pytest.raises(cesql.CesqlParseError, match="unterminated string literal at column 8"):
        filters.compile(only({"cesql": "type = 'a"}))
