"""The pure pieces of the API server, without a server.

Aspects: JSON merge patch and JSON patch (RFC examples and failure cases); label
selector grammar; managed-field bookkeeping on updates and server-side apply (field
removal, shared ownership); printed ages; request path resolution.
"""

from typing import Any

import pytest

from unkai.platform.apiserver import managed, patching, standard_registry
from unkai.platform.apiserver.errors import ApiError
from unkai.platform.apiserver.requests import resolve
from unkai.platform.apiserver.selectors import parse_labels
from unkai.platform.apiserver.tables import human_duration


def test_merge_patch_follows_rfc_7386() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}}
    patch = {"a": "z", "c": {"f": None}}
    assert patching.merge_patch(target, patch) == {"a": "z", "c": {"d": "e"}}
    assert patching.merge_patch({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}
    assert target == {"a": "b", "c": {"d": "e", "f": "g"}}, "inputs are not changed"


def test_json_patch_follows_rfc_6902() -> None:
    document = {"foo": ["bar", "baz"], "a~b": 1, "x/y": 2}
    ops = [
        {"op": "add", "path": "/foo/1", "value": "qux"},
        {"op": "add", "path": "/foo/-", "value": "end"},
        {"op": "remove", "path": "/a~0b"},
        {"op": "move", "from": "/x~1y", "path": "/moved"},
        {"op": "copy", "from": "/moved", "path": "/copied"},
        {"op": "replace", "path": "/foo/0", "value": "BAR"},
        {"op": "test", "path": "/copied", "value": 2},
    ]
    assert patching.json_patch(document, ops) == {
        "foo": ["BAR", "qux", "baz", "end"], "moved": 2, "copied": 2,
    }  # fmt: skip
    for bad in (
        [{"op": "remove", "path": "/missing"}],
        [{"op": "add", "path": "/foo/9", "value": 1}],
        [{"op": "test", "path": "/a~0b", "value": 2}],
        [{"op": "jump", "path": "/foo"}],
        [{"op": "add", "path": "foo", "value": 1}],
    ):
        with pytest.raises(patching.PatchError):
            patching.json_patch(document, bad)


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("a=b", {"a": "b"}, True),
        ("a==b", {"a": "c"}, False),
        ("a!=b", {}, True),
        ("a in (x, y)", {"a": "y"}, True),
        ("a notin (x,y)", {"a": "x"}, False),
        ("a", {"a": ""}, True),
        ("!a", {"a": "1"}, False),
        ("a=b,c!=d,e in (x,y),!f,g", {"a": "b", "c": "z", "e": "x", "g": "1"}, True),
        ("a=b,c!=d,e in (x,y),!f,g", {"a": "b", "c": "z", "e": "x", "g": "1", "f": "1"}, False),
    ],
)
def test_label_selectors(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_labels(selector).matches(labels) is expected


def test_unparsable_label_selector_is_a_bad_request() -> None:
    with pytest.raises(ApiError) as error:
        parse_labels("a in b")
    assert error.value.code == 400


WRITER = managed.Writer("alice", "v1", "2030-01-01T00:00:00Z")


def test_updates_move_ownership_to_the_writer() -> None:
    old: dict[str, Any] = {"metadata": {"name": "x"}, "spec": {"a": 1, "b": 2}}
    managed.record_update(None, old, WRITER)
    new = {"metadata": {"name": "x", "managedFields": old["metadata"]["managedFields"]},
           "spec": {"a": 1, "b": 3}}  # fmt: skip
    managed.record_update(old, new, managed.Writer("bob", "v1", "2030-01-01T00:00:01Z"))
    owners = {e["manager"]: e["fieldsV1"] for e in new["metadata"]["managedFields"]}
    assert owners == {"alice": {"f:spec": {"f:a": {}}}, "bob": {"f:spec": {"f:b": {}}}}


def test_apply_removes_fields_the_manager_stopped_applying() -> None:
    current = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "x"}}
    first = managed.apply(current, {"spec": {"a": 1, "b": 2}, **current}, WRITER, force=False)
    second = managed.apply(first, {"spec": {"a": 1}, **current}, WRITER, force=False)
    assert second["spec"] == {"a": 1}
    other = managed.Writer("bob", "v1", "2030-01-01T00:00:00Z")
    shared = managed.apply(second, {"spec": {"a": 1}, **current}, other, force=False)
    kept = managed.apply(shared, {"spec": {}, **current}, WRITER, force=False)
    assert kept["spec"] == {"a": 1}, "bob still owns spec.a"
    with pytest.raises(managed.ApplyConflictError):
        managed.apply(kept, {"spec": {"a": 2}, **current}, WRITER, force=False)


def test_ages_print_like_kubernetes() -> None:
    samples = {
        0: "0s", 119: "119s", 150: "2m30s", 600: "10m", 3 * 3600 + 60: "3h1m", 20 * 3600: "20h",
        3 * 86400 + 3600: "3d1h", 30 * 86400: "30d", -5: "<invalid>",
    }  # fmt: skip
    assert {seconds: human_duration(seconds) for seconds in samples} == samples


def test_paths_resolve_to_targets() -> None:
    registry = standard_registry()
    status = resolve(registry, "", "v1", ["namespaces", "team", "status"])
    assert status is not None
    assert (status.rt.plural, status.name, status.subresource) == ("namespaces", "team", "status")
    inside = resolve(registry, "", "v1", ["namespaces", "team", "configmaps", "c"])
    assert inside is not None
    assert (inside.rt.plural, inside.namespace, inside.name) == ("configmaps", "team", "c")
    assert resolve(registry, "", "v1", ["configmaps", "c"]) is None, "namespaced kind"
    assert resolve(registry, "", "v1", ["namespaces", "d", "configmaps", "c", "status"]) is None
    assert resolve(registry, "", "v1", ["namespaces", "d", "finalize"]) is None
    assert resolve(registry, "serving.knative.dev", "v2", ["services"]) is None
