"""Cluster settings the Knative way: the ``knative-serving`` ConfigMaps on a real
``unkai up``, changed through the API as ``kubectl edit`` would, taking effect at once.

Aspects: ``config-network``'s ``domain-template`` renames a running Service's URL and
the gateway answers at the new host (and the old one again once the map is deleted),
and its ``rollout-duration`` moves a new revision's traffic in steps (1% first);
``config-autoscaler``'s ``min-scale`` keeps that many instances of every revision (and
an idle one goes back to zero once the map is gone); ``config-defaults`` changes what
admission fills in; ``config-features`` switches routing by the ``Knative-Serving-Tag``
header; ``config-gc`` collects the revisions no Route serves beyond its limits; a value
Knative's webhook refuses is refused with its message and the field. (The same
platform also shows the creator and lastModifier annotations naming the token's user.)
"""

from collections.abc import Callable
from typing import Any

import pytest
from lightkube import ApiError
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Namespace

from tests.conformance.conftest import Conformance, until
from unkai.kube import kinds

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def settings(live: Conformance) -> Conformance:
    """The live platform with namespace ``knative-serving`` and a Service serving."""
    live.client().create(Namespace(metadata=ObjectMeta(name="knative-serving")))
    live.service_with("settings")
    live.ready("settings")
    return live


def put(live: Conformance, name: str, data: dict[str, str]) -> None:
    meta = ObjectMeta(name=name, namespace="knative-serving")
    live.client().apply(ConfigMap(metadata=meta, data=data), force=True)


def drop(live: Conformance, name: str) -> None:
    live.client().delete(ConfigMap, name, namespace="knative-serving")


def test_domain_template_renames_urls_and_the_gateway_follows(settings: Conformance) -> None:
    port = settings.platform.gateway.port
    put(settings, "config-network", {"domain-template": "{{.Name}}-{{.Namespace}}.{{.Domain}}"})
    renamed = f"http://settings-default.localhost:{port}"
    settings.wait_for("settings", lambda svc: svc.get("status", {}).get("url") == renamed)
    with settings.http() as http:
        until(
            lambda: http.get("/", headers={"Host": "settings-default.localhost"}).status_code
            == 200,
            timeout=30, what="the gateway serves the templated host",
        )  # fmt: skip
        assert http.get("/", headers={"Host": "settings.default.localhost"}).status_code == 404

    drop(settings, "config-network")
    original = f"http://settings.default.localhost:{port}"
    settings.wait_for("settings", lambda svc: svc.get("status", {}).get("url") == original)
    until(lambda: settings.get("settings").status_code == 200, timeout=30, what="old host back")


def test_autoscaler_min_scale_keeps_instances(settings: Conformance) -> None:
    def replicas(count: int) -> bool:
        revision = settings.service("settings-00001", kinds.REVISION)
        return revision.get("status", {}).get("actualReplicas") == count

    put(settings, "config-autoscaler", {"min-scale": "2"})
    until(lambda: replicas(2), timeout=60, what="two instances under min-scale 2")
    drop(settings, "config-autoscaler")
    until(lambda: replicas(0), timeout=60, what="idle again, scaled to zero")


def test_a_bad_value_is_refused_with_knatives_message(settings: Conformance) -> None:
    with pytest.raises(ApiError) as refused:
        put(settings, "config-network", {"rollout-duration": "-1"})
    status = refused.value.status
    assert status.code == 400
    assert status.message == (
        'admission webhook "config.webhook.serving.knative.dev" denied the request:'
        " validation failed: rollout-duration must be a positive integer, but was -1:"
        " data.rollout-duration"
    )


def test_creator_and_last_modifier_name_the_tokens_user(settings: Conformance) -> None:
    annotations = settings.service("settings")["metadata"]["annotations"]
    assert annotations["serving.knative.dev/creator"] == "unkai:admin"
    assert annotations["serving.knative.dev/lastModifier"] == "unkai:admin"


def test_config_defaults_set_what_admission_fills_in(settings: Conformance) -> None:
    manifest = {
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": "defaulted", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": [{"image": settings.image("defaulted")}]}}},
    }  # fmt: skip

    def defaulted_timeout() -> int:
        created = settings.client().create(
            kinds.resource(kinds.SERVICE).from_dict(manifest), dry_run=True
        )
        return int(created.to_dict()["spec"]["template"]["spec"]["timeoutSeconds"])

    put(settings, "config-defaults", {"revision-timeout-seconds": "120"})
    until(lambda: defaulted_timeout() == 120, timeout=30, what="the new default applies")
    drop(settings, "config-defaults")
    until(lambda: defaulted_timeout() == 300, timeout=30, what="Knative's default again")


def test_rollout_duration_moves_traffic_in_steps(settings: Conformance) -> None:
    put(settings, "config-network", {"rollout-duration": "2"})
    settings.service_with("rolling")
    settings.ready("rolling")
    seen: list[list[tuple[str, int]]] = []

    def split() -> list[tuple[str, int]]:
        traffic = settings.service("rolling")["status"].get("traffic", [])
        current = [(entry["revisionName"], entry["percent"]) for entry in traffic]
        if not seen or seen[-1] != current:
            seen.append(current)
        return current

    settings.service_with("rolling", {"env": [{"name": "STEP", "value": "2"}]})
    until(lambda: split() == [("rolling-00002", 100)], timeout=60, what="rolled out")
    drop(settings, "config-network")
    midway = [shares for shares in seen if len(shares) == 2]
    assert midway, seen  # the old and the new revision shared the traffic for a while
    assert midway[0] == [("rolling-00001", 99), ("rolling-00002", 1)]


def test_tag_header_routing_follows_config_features(settings: Conformance) -> None:
    settings.service_with("tagged")
    settings.ready("tagged")
    settings.service_with("tagged", {"env": [{"name": "STEP", "value": "2"}]})
    settings.wait_for("tagged", lambda svc: svc.get("status", {}).get("latestReadyRevisionName")
                      == "tagged-00002", timeout=60)  # fmt: skip
    manifest = settings.service("tagged")
    manifest["spec"]["traffic"] = [
        {"latestRevision": True, "percent": 100},
        {"tag": "old", "revisionName": "tagged-00001", "percent": 0},
    ]
    manifest["metadata"] = {"name": "tagged", "namespace": "default"}
    manifest.pop("status", None)
    settings.apply(manifest)

    def answered_by() -> str:
        with settings.http() as http:
            headers = {"Host": "tagged.default.localhost", "Knative-Serving-Tag": "old"}
            return str(http.get("/", headers=headers).json()["env"]["K_REVISION"])

    until(lambda: answered_by() == "tagged-00002", timeout=30, what="the split serves 00002")
    put(settings, "config-features", {"tag-header-based-routing": "Enabled"})
    until(lambda: answered_by() == "tagged-00001", timeout=30, what="the header picks the tag")
    drop(settings, "config-features")
    until(lambda: answered_by() == "tagged-00002", timeout=30, what="the header is ignored")


def test_config_gc_collects_unrouted_revisions_and_keeps_routed_ones(
    settings: Conformance,
) -> None:
    """``config-gc`` with no time protection and no non-active revision allowed: each
    revision goes once a newer one is routed, except one a tag still routes and the
    latest (``serving.knative.dev/no-gc`` is in ``tests/controllers/test_revisiongc.py``)."""
    put(settings, "config-gc", {
        "retain-since-create-time": "disabled", "retain-since-last-active-time": "disabled",
        "min-non-active-revisions": "0", "max-non-active-revisions": "0",
    })  # fmt: skip
    try:
        image = settings.image("gc")
        pinned = [{"latestRevision": True, "percent": 100},
                  {"revisionName": "gc-00001", "tag": "pinned", "percent": 0}]  # fmt: skip
        for generation, traffic in ((1, None), (2, pinned), (3, pinned)):
            env = [{"name": "STEP", "value": str(generation)}]
            spec: dict[str, object] = {
                "template": {"spec": {"containers": [{"image": image, "env": env}]}}
            }
            if traffic is not None:
                spec["traffic"] = traffic
            settings.apply({"apiVersion": "serving.knative.dev/v1", "kind": "Service",
                            "metadata": {"name": "gc"}, "spec": spec})  # fmt: skip
            settings.wait_for("gc", serving(f"gc-{generation:05d}"), timeout=60)

        def kept() -> list[str]:
            return [name for name in settings.revision_names() if name.startswith("gc-")]

        until(lambda: kept() == ["gc-00001", "gc-00003"], timeout=30,
              what=f"gc-00002 collected, the others kept (now {kept()})")  # fmt: skip
        with settings.http() as http:
            answer = http.get("/", headers={"Host": "pinned-gc.default.localhost"})
        assert answer.json()["env"]["K_REVISION"] == "gc-00001"
    finally:
        drop(settings, "config-gc")


def serving(revision: str) -> Callable[[dict[str, Any]], bool]:
    """Whether a Service's latest ready revision is ``revision`` and it has the traffic."""

    def check(service: dict[str, Any]) -> bool:
        status = service.get("status") or {}
        traffic = status.get("traffic") or [{}]
        return status.get("latestReadyRevisionName") == revision == traffic[0].get("revisionName")

    return check
