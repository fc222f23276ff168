"""Networking on a real ``unkai up``: cluster-local visibility and DomainMapping.

Aspects: a cluster-local Service's URL is ``http://{name}.{ns}.svc.cluster.local``; the
public listener answers 404 for it by any name, while the internal listener (callers
inside the platform) serves it at its ``.svc.cluster.local`` and ``.svc`` names; a
public Service's address is cluster-local too, and it answers on both listeners, by its
and its tags' cluster-local names only inside; a broker
delivers to a cluster-local Service a Trigger names (through the internal listener),
and that function's reply comes back into the broker; a DomainMapping
(Knative's ``TestDomainMapping``) serves a custom host with its Service's traffic on the
public listener, becomes Ready, and stops serving it once deleted.
"""

import httpx2
import pytest

from tests.conformance.conftest import Conformance, is_ready, until
from tests.eventing.conftest import Subscriber, relay_behind_broker, subscriber  # noqa: F401
from unkai.api.kinds import DOMAIN_MAPPING
from unkai.kube.kinds import resource

pytestmark = pytest.mark.slow
LOCAL = {"networking.knative.dev/visibility": "cluster-local"}
DOMAIN_MAPPING_YAML = """
apiVersion: serving.knative.dev/v1beta1
kind: DomainMapping
metadata:
  name: www.example.com
spec:
  ref:
    apiVersion: serving.knative.dev/v1
    kind: Service
    name: mapped
"""


def status(live: Conformance, port: int, host: str) -> int:
    with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        return http.get("/", headers={"Host": host}).status_code


def test_cluster_local_service_answers_inside_only(live: Conformance) -> None:
    live.service_with("hidden", labels=LOCAL)
    ready = live.ready("hidden")
    assert ready["status"]["url"] == "http://hidden.default.svc.cluster.local"
    assert ready["status"]["address"]["url"] == "http://hidden.default.svc.cluster.local"
    public, inside = live.platform.gateway.port, live.platform.internal.port
    for host in (
        "hidden.default.svc.cluster.local",
        "hidden.default.svc",
        "hidden.default.localhost",
    ):
        assert status(live, public, host) == 404, host
    assert status(live, inside, "hidden.default.svc.cluster.local") == 200
    assert status(live, inside, "hidden.default.svc") == 200


def test_public_service_has_cluster_local_names_inside(live: Conformance) -> None:
    """Knative's address is the cluster-local one for public Services too, and a tag has
    a Kubernetes Service of its own, ``{tag}-{name}``, so it answers inside by it."""
    live.apply({
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": "open"},
        "spec": {"template": {"spec": {"containers": [{"image": live.image("open")}]}},
                 "traffic": [{"latestRevision": True, "percent": 100},
                             {"latestRevision": True, "percent": 0, "tag": "next"}]},
    })  # fmt: skip
    ready = live.ready("open")
    public, inside = live.platform.gateway.port, live.platform.internal.port
    assert ready["status"]["url"] == f"http://open.default.localhost:{public}"
    assert ready["status"]["address"]["url"] == "http://open.default.svc.cluster.local"
    assert ready["status"]["traffic"][1]["url"] == f"http://next-open.default.localhost:{public}"
    assert status(live, public, "open.default.localhost") == 200
    assert status(live, public, "next-open.default.localhost") == 200
    for name in ("open", "next-open"):
        for host in (f"{name}.default.svc.cluster.local", f"{name}.default.svc"):
            assert status(live, public, host) == 404, host
            assert status(live, inside, host) == 200, host
    assert status(live, inside, "open.default.localhost") == 200


def test_domain_mapping(live: Conformance) -> None:
    live.service_with("mapped")
    live.ready("mapped")
    applied = live.kubectl("apply", "-n", "default", "-f", "-", stdin=DOMAIN_MAPPING_YAML)
    assert applied.returncode == 0, applied.stderr
    port = live.platform.gateway.port
    mapping = live.wait_for("www.example.com", is_ready, kind=DOMAIN_MAPPING, timeout=60)
    assert mapping["status"]["url"] == f"http://www.example.com:{port}"
    assert status(live, port, "www.example.com") == 200
    listed = live.kubectl("get", "domainmappings", "-n", "default")  # v1beta1 beside v1
    assert listed.returncode == 0, listed.stderr
    assert "www.example.com" in listed.stdout
    live.client().delete(resource(DOMAIN_MAPPING), "www.example.com", namespace="default")
    until(lambda: status(live, port, "www.example.com") == 404, timeout=30, what="unmapped")


def test_a_trigger_delivers_to_a_cluster_local_service(
    live: Conformance,
    subscriber: Subscriber,  # noqa: F811
) -> None:
    relay_behind_broker(live, subscriber, labels=LOCAL)

    headers = {"ce-specversion": "1.0", "ce-type": "com.example.order", "ce-source": "/shop",
               "ce-id": "order-9", "content-type": "application/json"}  # fmt: skip
    url = f"http://127.0.0.1:{live.platform.gateway.port}/default/default"
    assert httpx2.post(url, headers=headers, content=b'{"n": 9}').status_code == 202
    got = subscriber.wait(1, timeout=60)
    assert got[0].headers["ce-type"] == "com.example.relayed"
    assert b"order-9" in got[0].body
