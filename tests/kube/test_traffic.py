"""`unkai traffic` flags -> Knative spec.traffic: the shapes of the traffic tutorial."""

import pytest

from unkai.kube import traffic


def test_canary_with_latest() -> None:
    assert traffic.targets(["hello-00001=90", "@latest=10"], []) == [
        {"percent": 90, "revisionName": "hello-00001", "latestRevision": False},
        {"percent": 10, "latestRevision": True},
    ]


def test_blue_green_with_a_zero_percent_tag() -> None:
    assert traffic.targets(["hello-00001=100"], ["hello-00002=green", "hello-00001=blue"]) == [
        {"percent": 100, "revisionName": "hello-00001", "latestRevision": False, "tag": "blue"},
        {"percent": 0, "revisionName": "hello-00002", "latestRevision": False, "tag": "green"},
    ]


def test_two_tags_on_one_revision_keep_its_percent_once() -> None:
    found = traffic.targets(["@latest=100"], ["@latest=a", "@latest=b"])
    assert [entry["percent"] for entry in found] == [100, 0]
    assert [entry["tag"] for entry in found] == ["a", "b"]


@pytest.mark.parametrize(
    ("splits", "tags", "message"),
    [
        (["a=50"], [], "the splits sum to 50, want 100"),
        (["a=50", "a=50"], [], "--split a: given twice"),
        (["a=x"], [], "--split a=x: percent must be 0..100"),
        (["a"], [], "--split 'a': expected REVISION=VALUE"),
        (["a=100"], ["b"], "--tag 'b': expected REVISION=VALUE"),
    ],
)
def test_bad_flags_say_which(splits: list[str], tags: list[str], message: str) -> None:
    with pytest.raises(traffic.TrafficError) as caught:
        traffic.targets(splits, tags)
    assert str(caught.value) == message
