"""Knative's creator and lastModifier annotations, stamped at admission.

Aspects: both set on create from the requesting user; lastModifier follows a spec
change only; a write that leaves them out keeps them; setting another value is refused
as Knative's ``annotation value is immutable``; owned children and the platform's own
writes (no request user) are not stamped.
"""

import copy
from typing import Any

from tests.api.manifests import service
from unkai.api.knative import userinfo

SERVICES = "services.serving.knative.dev"


def annotations(obj: dict[str, Any]) -> dict[str, str]:
    return dict(obj["metadata"].get("annotations") or {})


def as_user(user: str, obj: dict[str, Any], old: dict[str, Any] | None) -> list[Any]:
    token = userinfo.REQUEST_USER.set(user)
    try:
        return userinfo.stamp(SERVICES, obj, old)
    finally:
        userinfo.REQUEST_USER.reset(token)


def test_create_stamps_both() -> None:
    created = service()
    assert as_user("alice", created, None) == []
    assert annotations(created) == {
        userinfo.CREATOR: "alice",
        userinfo.LAST_MODIFIER: "alice",
    }


def test_a_spec_change_moves_last_modifier_only() -> None:
    old = service()
    as_user("alice", old, None)
    changed = service(traffic=[{"latestRevision": True, "percent": 100}])
    assert as_user("bob", changed, old) == []
    assert annotations(changed) == {userinfo.CREATOR: "alice", userinfo.LAST_MODIFIER: "bob"}
    same = copy.deepcopy(old)
    same["metadata"]["annotations"] = {"team": "a"}
    assert as_user("bob", same, old) == []
    assert annotations(same)[userinfo.LAST_MODIFIER] == "alice"


def test_setting_another_value_is_refused() -> None:
    old = service()
    as_user("alice", old, None)
    forged = copy.deepcopy(old)
    forged["metadata"]["annotations"][userinfo.CREATOR] = "mallory"
    forged["metadata"]["annotations"][userinfo.LAST_MODIFIER] = "mallory"
    problems = as_user("mallory", forged, old)
    assert [(p.field, p.message) for p in problems] == [
        (f"metadata.annotations.{userinfo.CREATOR}", "annotation value is immutable"),
        (f"metadata.annotations.{userinfo.LAST_MODIFIER}", "annotation value is immutable"),
    ]


def test_owned_objects_and_platform_writes_are_not_stamped() -> None:
    owned = service()
    owned["metadata"]["ownerReferences"] = [{"kind": "Service", "name": "hello"}]
    assert as_user("alice", owned, None) == []
    assert annotations(owned) == {}
    unattended = service()
    assert userinfo.stamp(SERVICES, unattended, None) == []
    assert annotations(unattended) == {}
