"""The eventing commands (broker, trigger, source ping, send, describe broker/trigger),
run in-process with click's runner against one embedded `unkai up` for the module and a
recording subscriber on a loopback port.

Aspects: what a user sees after each command (lines, tables, counts), that the objects
made are the ones Knative reads (filters, CESQL, sinks), that events sent with `send`
arrive where the filters say, and that a bad flag is refused naming the flag (a CESQL
error with its position) before anything reaches the platform.
"""

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from tests.controllers.readiness import InMemoryReadiness
from tests.eventing.conftest import Subscriber, serving
from tests.support.embedded import embedded

from unkai.cli.main import cli
from unkai.platform.embedded import Platform, Settings


@dataclass
class Unkai:
    home: Path
    platform: Platform

    def __call__(self, *args: str) -> Result:
        env = {"UNKAI_DATA_DIR": str(self.home / "data"), "KUBECONFIG": str(self.home / "kube"),
               "COLUMNS": "200"}  # fmt: skip
        return CliRunner().invoke(cli, args, env=env)

    def json(self, *args: str) -> Any:
        result = self(*args, "-o", "json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def until(self, check: Callable[[], bool], what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"never: {what}")
            time.sleep(0.05)


@pytest.fixture(scope="module")
def unkai(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Unkai]:
    home = tmp_path_factory.mktemp("home")
    settings = Settings(data_dir=home / "data", api_port=0, gateway_port=0)
    with embedded(settings, readiness=InMemoryReadiness()) as platform:
        yield Unkai(home, platform)


@pytest.fixture(scope="module")
def subscriber() -> Iterator[Subscriber]:
    with serving(Subscriber()) as recorder:
        yield recorder


def ready(unkai: Unkai, kind: str, name: str) -> bool:
    found = unkai.json(kind, "list")["items"]
    return any(
        item["metadata"]["name"] == name
        and {"type": "Ready", "status": "True"}.items() <= condition.items()
        for item in found
        for condition in (item.get("status") or {}).get("conditions", [])
    )


def test_a_broker_made_listed_sent_to_and_described(unkai: Unkai, subscriber: Subscriber) -> None:
    created = unkai("broker", "create", "shop")
    assert created.exit_code == 0, created.output
    assert created.stdout == "broker.eventing.knative.dev/shop created\n"
    unkai.until(lambda: ready(unkai, "broker", "shop"), "broker shop Ready")
    port = unkai.platform.gateway.port
    url = f"http://broker-ingress.knative-eventing.localhost:{port}/default/shop"
    listed = unkai("broker", "list").stdout.splitlines()
    assert listed[0].split() == ["NAME", "URL", "AGE", "READY", "REASON"]
    assert listed[1].split()[:2] == ["shop", url]
    assert listed[1].split()[3] == "True"

    made = unkai("trigger", "create", "paid", "--broker", "shop", "--sink", subscriber.url,
                 "--filter", "type=order.paid", "--cesql", "INT(amount) > 100")  # fmt: skip
    assert made.exit_code == 0, made.output
    spec = unkai.json("trigger", "list")["items"][0]["spec"]
    assert spec["filters"] == [{"exact": {"type": "order.paid"}}, {"cesql": "INT(amount) > 100"}]
    assert spec["subscriber"] == {"uri": subscriber.url}
    unkai.until(lambda: ready(unkai, "trigger", "paid"), "trigger paid Ready")

    for amount, kind in (("250", "order.paid"), ("5", "order.paid"), ("900", "order.lost")):
        sent = unkai("send", "--broker", "shop", "--type", kind, "--source", "/cli",
                     "-e", f"amount={amount}", "--data", '{"amount": ' + amount + "}")  # fmt: skip
        assert sent.exit_code == 0, sent.output
        assert sent.stdout.startswith("202 Accepted (id ")
    received = subscriber.wait(1)
    assert received[0].headers["ce-amount"] == "250"
    assert received[0].headers["content-type"] == "application/json"
    assert json.loads(received[0].body) == {"amount": 250}

    def counted() -> bool:
        text = unkai("describe", "trigger/paid").stdout
        return "Events" in text and text.split("QUEUED")[1].split()[:5] == ["1", "0", "0", "0", "0"]

    unkai.until(counted, "describe trigger/paid counts one delivery")
    described = unkai("describe", "broker/shop").stdout
    assert ["Address", url] in (line.split() for line in described.splitlines())
    assert described.split("QUEUED")[1].split()[:2] == ["3", "1"]
    assert len(subscriber.received) == 1  # the other two did not pass the filter

    deleted = unkai("trigger", "delete", "paid").stdout
    assert deleted == "trigger.eventing.knative.dev/paid deleted\n"
    assert unkai("broker", "delete", "shop").stdout == "broker.eventing.knative.dev/shop deleted\n"
    assert unkai.json("broker", "list")["items"] == []


def test_a_bad_cesql_expression_is_refused_with_its_column(unkai: Unkai) -> None:
    result = unkai("trigger", "create", "t", "--broker", "b", "--sink", "svc",
                   "--cesql", "type = 'a' AND")  # fmt: skip
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: --cesql: ")
    assert "column 15" in lines[0]
    assert lines[1:] == ["  type = 'a' AND", "  " + " " * 14 + "^"]
    assert unkai.json("trigger", "list")["items"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trigger", "create", "t", "--broker", "b", "--sink", "pod:x"], "error: --sink: 'pod:x'"),
        (["trigger", "create", "t", "--broker", "b", "--sink", "s", "--filter", "type"],
         "error: --filter: 'type' is not of the form attribute=value"),
        (["trigger", "create", "t", "--broker", "b", "--sink", "s", "--cesql", "LENGTH(type)"],
         "error: --cesql: LENGTH(type): the expression is an Integer"),
        (["broker", "create", "b", "--dead-letter-sink", "Bad_Name"],
         "error: --dead-letter-sink: 'Bad_Name' is not a valid name"),
        (["send", "--broker", "nowhere", "--type", "t", "--source", "s"],
         "error: --broker nowhere: brokers.eventing.knative.dev \"nowhere\" not found"),
        (["send", "--broker", "b", "--type", "t", "--source", "s", "-e", "Bad=1"],
         "error: --extension: 'Bad=1'"),
    ],
)  # fmt: skip
def test_a_bad_flag_is_named_in_the_error(unkai: Unkai, args: list[str], message: str) -> None:
    result = unkai(*args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(message), result.stderr


def test_send_needs_a_broker_or_a_url_not_both(unkai: Unkai) -> None:
    neither = unkai("send", "--type", "t", "--source", "s")
    both = unkai("send", "http://127.0.0.1:9/", "--broker", "b", "--type", "t", "--source", "s")
    for result in (neither, both):
        assert result.exit_code == 2
        assert "give either --broker NAME or a URL" in result.stderr


def test_send_to_a_url_posts_a_structured_event_with_data_from_a_file(
    unkai: Unkai, subscriber: Subscriber, tmp_path: Path
) -> None:
    data = tmp_path / "order.json"
    data.write_text('{"sku": "a-1"}')
    before = len(subscriber.received)
    sent = unkai("send", subscriber.url, "--type", "order.made", "--source", "/f", "--id", "42",
                 "--structured", "--data", f"@{data}")  # fmt: skip
    assert sent.stdout == "202 Accepted (id 42)\n"
    arrived = subscriber.wait(before + 1)[before]
    assert arrived.headers["content-type"].startswith("application/cloudevents+json")
    document = json.loads(arrived.body)
    assert (document["id"], document["type"]) == ("42", "order.made")
    assert document["data"] == {"sku": "a-1"}


def test_a_ping_source_made_listed_and_deleted(unkai: Unkai) -> None:
    made = unkai("source", "ping", "create", "tick", "--schedule", "*/5 * * * *",
                 "--data", '{"hello": 1}', "--content-type", "application/json",
                 "--sink", "broker:default")  # fmt: skip
    assert made.stdout == "pingsource.sources.knative.dev/tick created\n", made.output
    item = unkai.json("source", "ping", "list")["items"][0]
    sink = {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker", "name": "default",
            "namespace": "default"}  # fmt: skip
    assert item["spec"] == {"schedule": "*/5 * * * *", "data": '{"hello": 1}',
                            "contentType": "application/json", "sink": {"ref": sink}}  # fmt: skip
    row = unkai("source", "ping", "list").stdout.splitlines()[1].split()
    assert row[:6] == ["tick", "*/5", "*", "*", "*", "*"]
    assert row[6] == "broker:default"
    deleted = unkai("source", "ping", "delete", "tick")
    assert deleted.stdout == "pingsource.sources.knative.dev/tick deleted\n"
    assert "No pingsources found." in unkai("source", "ping", "list").stderr
