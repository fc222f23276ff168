"""A real function as a subscriber: deployed as a Service, scaled to zero, woken by the
event through the gateway's activator; its reply comes back into the broker."""

from pathlib import Path

import httpx2
import pytest

from tests.e2e.conftest import LivePlatform, live  # noqa: F401 (fixture)
from tests.eventing.conftest import Subscriber, apply, broker, ready, trigger
from unkai.kube import kinds
from unkai.platform import bundles

pytestmark = pytest.mark.slow
RELAY = Path(__file__).parent / "functions" / "relay"


def test_an_event_wakes_a_function_at_zero_and_its_reply_is_delivered(
    live: LivePlatform,  # noqa: F811
    subscriber: Subscriber,
) -> None:
    digest = live.platform.bundles.of("default").put(bundles.pack(RELAY))
    image = bundles.format_reference(namespace="default", name="relay", digest=digest)
    service = {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
               "metadata": {"name": "relay", "namespace": "default"},
               "spec": {"template": {"spec": {"containers": [{"image": image}]}}}}  # fmt: skip
    live.client().apply(kinds.resource(kinds.SERVICE).from_dict(service), force=True)
    live.wait_for("relay", ready, timeout=60)
    live.wait_for("default", ready, kind=apply(live, broker()))
    ref = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "relay"}
    to_function = {"apiVersion": "eventing.knative.dev/v1", "kind": "Trigger",
                   "metadata": {"name": "orders"},
                   "spec": {"broker": "default", "subscriber": {"ref": ref},
                            "filter": {"attributes": {"type": "com.example.order"}}}}  # fmt: skip
    found = live.wait_for("orders", ready, kind=apply(live, to_function))
    assert found["status"]["subscriberUri"] == "http://relay.default.svc.cluster.local"
    relayed = {"filter": {"attributes": {"type": "com.example.relayed"}}}
    live.wait_for("relayed", ready, kind=apply(live, trigger("relayed", subscriber.url, **relayed)))
    revision = live.service("relay")["status"]["latestReadyRevisionName"]
    live.wait_for(revision, lambda r: _at_zero(r), timeout=60, kind=kinds.REVISION)

    headers = {"ce-specversion": "1.0", "ce-type": "com.example.order", "ce-source": "/shop",
               "ce-id": "order-7", "content-type": "application/json"}  # fmt: skip
    url = f"http://127.0.0.1:{live.platform.gateway.port}/default/default"
    assert httpx2.post(url, headers=headers, content=b'{"n": 7}').status_code == 202

    got = subscriber.wait(1, timeout=60)
    assert got[0].headers["ce-type"] == "com.example.relayed"
    assert b"order-7" in got[0].body

    # A routed host keeps its route, whatever its path looks like: the function answers
    # (200 and its reply), not broker ingress (which would say 202).
    routed = {**headers, "host": f"relay.default.localhost:{live.platform.gateway.port}"}
    direct = httpx2.post(url, headers=routed, content=b'{"n": 8}')
    assert direct.status_code == 200
    assert direct.headers["ce-type"] == "com.example.relayed"


def _at_zero(revision: dict[str, object]) -> bool:
    status = revision.get("status") or {}
    assert isinstance(status, dict)
    return any(c.get("type") == "Active" and c.get("status") == "False"
               for c in status.get("conditions", []))  # fmt: skip
