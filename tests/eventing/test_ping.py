"""PingSource: when it fires and what it sends."""

import json
from datetime import UTC, datetime

import pytest

from tests.e2e.conftest import RunningPlatform
from tests.eventing.conftest import Subscriber, apply, ready
from unkai.platform.contracts import NamespacedName, PingPlan
from unkai.platform.eventing.ping import next_tick, ping_event

KEY = NamespacedName("default", "heartbeat")


def test_the_next_tick_follows_the_schedule_in_its_time_zone() -> None:
    plan = PingPlan(schedule="0 9 * * *", timezone="Europe/Paris", sink_uri="http://x/")
    now = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)  # 11:00 in Paris: today's 9:00 passed
    assert next_tick(plan, now) == datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def test_the_event_is_knative_s_ping_with_the_data_and_overrides() -> None:
    plan = PingPlan(schedule="* * * * *", timezone="", sink_uri="http://x/",
                    content_type="application/json", data=b'{"hi": 1}',
                    extensions=(("team", "blue"),))  # fmt: skip
    event = ping_event(KEY, plan, datetime(2026, 12, 5, tzinfo=UTC))
    assert event.attributes["type"] == "dev.knative.sources.ping"
    assert event.attributes["source"] == "/apis/v1/namespaces/default/pingsources/heartbeat"
    assert event.attributes["time"] == "2026-12-05T00:00:00Z"
    assert event.get_extension("team") == "blue"
    assert event.get_data() == b'{"hi": 1}'


@pytest.mark.slow
def test_a_ping_source_sends_to_its_sink_on_schedule(
    platform: RunningPlatform, subscriber: Subscriber
) -> None:
    manifest = {"apiVersion": "sources.knative.dev/v1", "kind": "PingSource",
                "metadata": {"name": "heartbeat"},
                "spec": {"schedule": "* * * * * *", "contentType": "application/json",
                         "data": '{"beat": true}', "sink": {"uri": subscriber.url}}}  # fmt: skip
    found = platform.wait_for("heartbeat", ready, kind=apply(platform, manifest))
    assert found["status"]["sinkUri"] == subscriber.url

    got = subscriber.wait(2)

    assert got[0].headers["ce-type"] == "dev.knative.sources.ping"
    assert got[0].headers["content-type"] == "application/json"
    assert json.loads(got[0].body) == {"beat": True}
    assert got[0].headers["ce-id"] != got[1].headers["ce-id"]
