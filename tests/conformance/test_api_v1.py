"""Knative's api/v1 conformance tests (``test/conformance/api/v1``), by name, on a real
``unkai up``: Services, Configurations, Routes and Revisions through the API as a
Kubernetes client drives them, and their traffic over real HTTP through the gateway.

Tests Knative has that are covered elsewhere are listed in docs/knative-compat.md with
where (split and tags, single concurrency, revision timeout, a crashing container, a
standalone Route: ``tests/e2e``; volumes: ``test_volumes.py``).
"""

from pathlib import Path
from typing import Any

import pytest
from lightkube import ApiError

from tests.build.registries import LocalRegistry, push_version
from tests.conformance.conftest import Conformance, is_ready, until
from unkai.kube import kinds

pytestmark = pytest.mark.slow
CREATOR = "serving.knative.dev/creator"
LAST_MODIFIER = "serving.knative.dev/lastModifier"
ADMIN = "unkai:admin"


def obj(live: Conformance, kind: kinds.Kind, name: str) -> dict[str, Any]:
    return live.service(name, kind)


def names(live: Conformance, kind: kinds.Kind) -> set[str]:
    found = live.client().list(kinds.resource(kind), namespace="default")
    return {item.metadata.name for item in found}


def revision_of(live: Conformance, host_name: str) -> str:
    """The revision that answered a request to ``host_name``'s route."""
    return str(live.view(host_name)["env"]["K_REVISION"])


def refused(live: Conformance, manifest: dict[str, Any]) -> str:
    with pytest.raises(ApiError) as error:
        live.apply(manifest)
    status = error.value.status
    assert (status.code, status.reason) == (400, "BadRequest")  # as Knative's webhook refuses
    assert status.message is not None
    assert status.message.startswith(
        'admission webhook "validation.webhook.serving.knative.dev" denied the request:'
        " validation failed: "
    )
    return status.message


def service(live: Conformance, name: str, **spec: Any) -> dict[str, Any]:
    container = {"image": live.image(name), **spec.pop("container", {})}
    return {
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": name, **spec.pop("metadata", {})},
        "spec": {"template": {"metadata": spec.pop("template_metadata", {}),
                              "spec": {"containers": [container]}}, **spec},
    }  # fmt: skip


def test_service_create_and_update(live: Conformance) -> None:
    live.service_with("svc-update")
    live.ready("svc-update")
    assert revision_of(live, "svc-update") == "svc-update-00001"
    first = obj(live, kinds.REVISION, "svc-update-00001")
    image = first["spec"]["containers"][0]["image"]
    assert first["status"]["containerStatuses"][0]["imageDigest"] == image  # a bundle's pin
    assert first["metadata"]["annotations"][CREATOR] == ADMIN
    for kind in (kinds.SERVICE, kinds.CONFIGURATION, kinds.ROUTE):
        annotations = obj(live, kind, "svc-update")["metadata"]["annotations"]
        assert (annotations[CREATOR], annotations[LAST_MODIFIER]) == (ADMIN, ADMIN), kind

    live.service_with("svc-update", {"env": [{"name": "STEP", "value": "2"}]})
    live.wait_for("svc-update", lambda svc: svc.get("status", {}).get("latestReadyRevisionName")
                  == "svc-update-00002" and is_ready(svc), timeout=60)  # fmt: skip
    until(lambda: revision_of(live, "svc-update") == "svc-update-00002", timeout=30,
          what="the update serves")  # fmt: skip
    assert live.view("svc-update")["env"]["STEP"] == "2"

    labelled = service(live, "svc-update", container={"env": [{"name": "STEP", "value": "2"}]},
                       template_metadata={"labels": {"tier": "web"},
                                          "annotations": {"note": "third"}})  # fmt: skip
    live.apply(labelled)
    third = live.wait_for("svc-update-00003", is_ready, kind=kinds.REVISION, timeout=60)
    assert third["metadata"]["labels"]["tier"] == "web"
    assert third["metadata"]["annotations"]["note"] == "third"


def test_service_create_list_and_delete(live: Conformance) -> None:
    live.service_with("svc-crud")
    live.ready("svc-crud")
    assert "svc-crud" in names(live, kinds.SERVICE)
    assert "svc-crud-00001" in names(live, kinds.REVISION)
    live.client().delete(kinds.resource(kinds.SERVICE), "svc-crud", namespace="default")

    def gone() -> bool:
        return not any(
            any(n == "svc-crud" or n.startswith("svc-crud-") for n in names(live, kind))
            for kind in (kinds.SERVICE, kinds.CONFIGURATION, kinds.ROUTE, kinds.REVISION)
        )

    until(gone, timeout=30, what="the Service and what it owns are deleted")
    until(lambda: live.get("svc-crud").status_code == 404, timeout=30, what="no route")


def test_configuration_get_and_list(live: Conformance) -> None:
    live.service_with("svc-get")
    live.ready("svc-get")
    assert obj(live, kinds.CONFIGURATION, "svc-get")["metadata"]["name"] == "svc-get"
    assert "svc-get" in names(live, kinds.CONFIGURATION)


def test_revision_get_and_list(live: Conformance) -> None:
    live.service_with("svc-get")
    live.ready("svc-get")
    revision = obj(live, kinds.REVISION, "svc-get-00001")
    assert revision["metadata"]["labels"]["serving.knative.dev/configuration"] == "svc-get"
    assert "svc-get-00001" in names(live, kinds.REVISION)


def test_route_get_and_list(live: Conformance) -> None:
    live.service_with("svc-get")
    live.ready("svc-get")
    route = obj(live, kinds.ROUTE, "svc-get")
    assert route["status"]["traffic"][0]["revisionName"] == "svc-get-00001"
    assert "svc-get" in names(live, kinds.ROUTE)


def test_update_configuration_metadata(live: Conformance) -> None:
    configuration = {
        "apiVersion": "serving.knative.dev/v1", "kind": "Configuration",
        "metadata": {"name": "cfg-meta"},
        "spec": {"template": {"spec": {"containers": [{"image": live.image("cfg-meta")}]}}},
    }  # fmt: skip
    live.apply(configuration)
    live.wait_for("cfg-meta", is_ready, kind=kinds.CONFIGURATION, timeout=60)
    configuration["metadata"]["labels"] = {"team": "blue"}
    configuration["metadata"]["annotations"] = {"owner": "ops"}
    live.apply(configuration)
    updated = obj(live, kinds.CONFIGURATION, "cfg-meta")
    assert updated["metadata"]["labels"]["team"] == "blue"
    assert updated["metadata"]["generation"] == 1
    assert updated["status"]["latestCreatedRevisionName"] == "cfg-meta-00001"
    revision = obj(live, kinds.REVISION, "cfg-meta-00001")
    assert "team" not in revision["metadata"].get("labels", {})
    assert "owner" not in revision["metadata"].get("annotations", {})


def test_service_generate_name(live: Conformance) -> None:
    manifest = service(live, "gen")
    del manifest["metadata"]["name"]
    manifest["metadata"]["generateName"] = "gen-"
    created = live.client().create(kinds.resource(kinds.SERVICE).from_dict(
        {**manifest, "metadata": {**manifest["metadata"], "namespace": "default"}}
    ))  # fmt: skip
    name = created.metadata.name
    assert name.startswith("gen-")
    assert len(name) > len("gen-")
    live.ready(name)
    assert revision_of(live, name) == f"{name}-00001"


def test_route_and_config_generate_name(live: Conformance) -> None:
    client = live.client()
    config = client.create(kinds.resource(kinds.CONFIGURATION).from_dict({
        "apiVersion": "serving.knative.dev/v1", "kind": "Configuration",
        "metadata": {"generateName": "gencfg-", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": [{"image": live.image("gencfg")}]}}},
    }))  # fmt: skip
    config_name = config.metadata.name
    route = client.create(kinds.resource(kinds.ROUTE).from_dict({
        "apiVersion": "serving.knative.dev/v1", "kind": "Route",
        "metadata": {"generateName": "genrt-", "namespace": "default"},
        "spec": {"traffic": [{"configurationName": config_name, "percent": 100}]},
    }))  # fmt: skip
    route_name = route.metadata.name
    live.wait_for(route_name, is_ready, kind=kinds.ROUTE, timeout=60)
    assert revision_of(live, route_name) == f"{config_name}-00001"


def test_service_byo_name(live: Conformance) -> None:
    manifest = service(live, "byo", template_metadata={"name": "byo-first"})
    live.apply(manifest)
    live.ready("byo")
    assert revision_of(live, "byo") == "byo-first"
    manifest["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "X", "value": "1"}]
    message = refused(live, manifest)
    assert "Saw the following changes without a name change (-old +new)" in message
    manifest["spec"]["template"]["metadata"]["name"] = "byo-second"
    live.apply(manifest)
    until(lambda: revision_of(live, "byo") == "byo-second", timeout=60, what="renamed revision")


def test_annotation_propagation(live: Conformance) -> None:
    manifest = service(live, "prop-ann", metadata={"annotations": {"team/contact": "ops"}})
    live.apply(manifest)
    live.ready("prop-ann")
    for kind in (kinds.CONFIGURATION, kinds.ROUTE):
        assert obj(live, kind, "prop-ann")["metadata"]["annotations"]["team/contact"] == "ops"
    manifest["metadata"]["annotations"] = {}
    live.apply(manifest)
    for kind in (kinds.CONFIGURATION, kinds.ROUTE):
        live.wait_for("prop-ann", lambda o: "team/contact" not in
                      o["metadata"].get("annotations", {}), kind=kind)  # fmt: skip


def test_label_propagation(live: Conformance) -> None:
    manifest = service(live, "prop-lbl", metadata={"labels": {"team": "blue"}})
    live.apply(manifest)
    live.ready("prop-lbl")
    for kind in (kinds.CONFIGURATION, kinds.ROUTE):
        assert obj(live, kind, "prop-lbl")["metadata"]["labels"]["team"] == "blue"
    manifest["metadata"]["labels"] = {}
    live.apply(manifest)
    for kind in (kinds.CONFIGURATION, kinds.ROUTE):
        live.wait_for("prop-lbl", lambda o: "team" not in o["metadata"].get("labels", {}),
                      kind=kind)  # fmt: skip


def test_service_create_with_multiple_containers(live: Conformance) -> None:
    manifest = service(live, "two")
    containers = manifest["spec"]["template"]["spec"]["containers"]
    containers.append({"image": live.image("two"), "name": "sidecar"})
    assert "multi-container is off, but found 2 containers" in refused(live, manifest)


def test_service_account_validation(live: Conformance) -> None:
    manifest = service(live, "sa")
    manifest["spec"]["template"]["spec"]["serviceAccountName"] = "foo@bar.baz"
    message = refused(live, manifest)
    assert "foo@bar.baz" in message
    assert "RFC 1123 subdomain" in message
    assert message.endswith(": spec.template.spec.serviceAccountName")  # message, then field


def test_container_error_msg(live: Conformance) -> None:
    missing = "unkai.local/default/broken@sha256:" + "0" * 64
    live.apply(service(live, "broken", container={"image": missing}))
    revision = live.condition("broken-00001", kinds.REVISION, "Ready",
                              lambda c: c["status"] == "False")  # fmt: skip
    assert revision["reason"]
    assert revision["message"]
    for kind in (kinds.CONFIGURATION, kinds.SERVICE):
        ready = live.condition("broken", kind, "Ready", lambda c: c["status"] == "False")
        assert ready["reason"], kind
        assert ready["message"], kind
    route = live.condition("broken", kinds.ROUTE, "Ready", lambda c: c["status"] == "False")
    assert route["message"] == 'Configuration "broken" does not have any ready Revision.'


def image_digest(live: Conformance, revision: str) -> str:
    """The digest in the Revision's status, once it is there."""
    found = live.wait_for(revision, lambda r: bool(r.get("status", {}).get("containerStatuses")),
                          kind=kinds.REVISION, timeout=30)  # fmt: skip
    return str(found["status"]["containerStatuses"][0].get("imageDigest", ""))


def test_service_create_and_update_resolves_tags_to_digests(
    live: Conformance, registry: LocalRegistry, tmp_path: Path
) -> None:
    """The Service test's ``imageDigest`` for an image named by a tag: the digest the
    registry gives at the revision's creation, kept when the tag moves (a new revision
    gets the new one); a tag the registry does not have fails as Knative's does."""
    first = push_version(registry, tmp_path / "one", "1")
    tagged = {"container": {"image": f"{registry.host}/app:1"}}
    live.apply(service(live, "by-tag", **tagged))
    assert image_digest(live, "by-tag-00001") == f"{registry.host}/app@{first}"
    second = push_version(registry, tmp_path / "two", "2")
    env = [{"name": "STEP", "value": "2"}]
    live.apply(service(live, "by-tag", container={**tagged["container"], "env": env}))
    assert image_digest(live, "by-tag-00002") == f"{registry.host}/app@{second}"
    assert image_digest(live, "by-tag-00001") == f"{registry.host}/app@{first}"

    live.apply(service(live, "no-such-tag", container={"image": f"{registry.host}/app:9"}))
    missing = live.condition(
        "no-such-tag-00001", kinds.REVISION, "Ready",
        lambda c: c["status"] == "False" and c.get("reason") == "ContainerMissing",
    )  # fmt: skip
    assert missing["message"] == (
        f'Unable to fetch image "{registry.host}/app:9": failed to resolve image to digest:'
        f" image {registry.host}/app:9 not found in {registry.host}"
    )
