"""A real function as a subscriber: deployed as a Service, scaled to zero, woken by the
event through the gateway's activator; its reply comes back into the broker."""

import httpx2
import pytest

from tests.e2e.conftest import LivePlatform, live  # noqa: F401 (fixture)
from tests.eventing.conftest import Subscriber, relay_behind_broker
from unkai.kube import kinds

pytestmark = pytest.mark.slow


def test_an_event_wakes_a_function_at_zero_and_its_reply_is_delivered(
    live: LivePlatform,  # noqa: F811
    subscriber: Subscriber,
) -> None:
    relay_behind_broker(live, subscriber)
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
