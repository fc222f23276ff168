"""A revision that keeps failing to start: requests held for it fail fast, saying why, and
what happened shows in ``unkai logs`` and on ``/metrics``.

Real parts: the process runner starts ``exits_at_import`` (its module exits with code 3
while it is imported) behind a real gateway on a loopback port, with a real Prometheus
registry and the log files ``unkai logs`` reads. Only the crash loop is shortened (two
attempts, milliseconds apart) so that the revision gives up within the test.

Aspects: a request held while the revision has no instance gets a 503 naming
CrashLoopBackOff and the last failure once the revision gives up, long before its
timeout; later requests get the same answer at once; ``/metrics`` counts them as the
gateway's ``unavailable`` outcome and the failed starts by exit code, per revision;
``unkai logs`` shows the failed starts, the giving up and the refused requests.
"""

import asyncio
import json
import time
from pathlib import Path

import httpx2
import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from tests.support.servers import FUNCTIONS

from unkai.platform.backoff import CrashLoop
from unkai.platform.bundles import BundleStore, pack
from unkai.platform.contracts import RevisionKey, RoutingTable
from unkai.platform.gateway import Gateway
from unkai.platform.instances import FailuresCollector, RevisionInstances
from unkai.platform.logs import RevisionEvents, ServiceLogs, readable
from unkai.platform.runners import InstanceSpec, LogFiles, ProcessRunner
from unkai.platform.state import PlatformDir

pytestmark = pytest.mark.slow

KEY = RevisionKey("default", "broken-00001")
HOST = "broken.default.localhost"
NAMESPACE, REVISION = 'namespace="default"', 'revision="broken-00001"'


class Outcome:
    def __init__(self) -> None:
        self.held: httpx2.Response | None = None
        self.later: httpx2.Response | None = None
        self.metrics = ""


def run(tmp_path: Path) -> Outcome:
    files = PlatformDir.under(tmp_path)
    logs = LogFiles(files.root / "logs")
    store = BundleStore(tmp_path / "bundles")
    spec = InstanceSpec(
        namespace="default", revision=KEY.name, configuration="broken",
        bundle=store.path(store.put(pack(FUNCTIONS / "exits_at_import"))), timeout_seconds=300,
    )  # fmt: skip
    outcome = Outcome()

    async def main() -> None:
        registry = CollectorRegistry()
        poked = asyncio.Event()  # a request is held for the revision at zero
        gateway = Gateway(registry=registry, on_cold_request=lambda key: poked.set())
        await gateway.start(port=0)
        gateway.set_route("default", RoutingTable(host=HOST, split=((KEY.name, 100),)))
        runner = ProcessRunner(logs=logs, ready_timeout=20, isolate=False)
        cold = Histogram("cold", "", ["namespace", "revision"], registry=registry)
        instances = RevisionInstances(
            spec, runner=runner, gateway=gateway, cold_starts=cold,
            starts=asyncio.Semaphore(1), changed=lambda: None,
            crash_loop=CrashLoop(base=0.001, cap=0.004, attempts=2),
            events=RevisionEvents(logs.folder(spec)), outcome_interval=0.1,
        )  # fmt: skip
        registry.register(FailuresCollector(lambda: [instances]))
        url = f"http://127.0.0.1:{gateway.port}/"
        try:
            async with httpx2.AsyncClient(headers={"host": HOST}, timeout=60) as http:
                held = asyncio.ensure_future(http.get(url))
                await poked.wait()
                instances.scale(1)  # as the autoscaler does when poked
                outcome.held = await held
                outcome.later = await http.get(url)
            outcome.metrics = generate_latest(registry).decode()
            await wait_for_log(files, "refused (503)")
        finally:
            await instances.close()
            await runner.close()
            await gateway.stop(grace=1)

    asyncio.run(main())
    return outcome


async def wait_for_log(files: PlatformDir, text: str) -> None:
    deadline = time.monotonic() + 10
    while not any(text in line for line in messages(files)):
        assert time.monotonic() < deadline, f"no log line says {text!r}: {messages(files)}"
        await asyncio.sleep(0.05)


def messages(files: PlatformDir) -> list[str]:
    return [readable(line).message for line in ServiceLogs(files, "default", "broken").lines()]


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> tuple[Outcome, PlatformDir]:
    tmp_path = tmp_path_factory.mktemp("crash-loop")
    return run(tmp_path), PlatformDir.under(tmp_path)


def test_a_held_request_fails_fast_naming_the_reason(outcome: tuple[Outcome, PlatformDir]) -> None:
    held = outcome[0].held
    assert held is not None
    assert held.status_code == 503
    assert "revision broken-00001 is not starting instances (CrashLoopBackOff)" in held.text
    assert "gave up after 2 failed starts in a row" in held.text
    assert "ExitCode3" in held.text
    assert "unkai logs broken -n default" in held.text


def test_later_requests_get_the_same_answer(outcome: tuple[Outcome, PlatformDir]) -> None:
    held, later = outcome[0].held, outcome[0].later
    assert held is not None
    assert later is not None
    assert (later.status_code, later.text) == (503, held.text)


def test_metrics_count_the_refusals_and_the_failed_starts_by_exit_code(
    outcome: tuple[Outcome, PlatformDir],
) -> None:
    text = outcome[0].metrics
    outcomes = f"unkai_gateway_outcomes_total{{{NAMESPACE},outcome="
    assert f'{outcomes}"unavailable",{REVISION}}} 2.0' in text
    assert f'{outcomes}"timeout",{REVISION}}} 0.0' in text
    failures = f'{{{NAMESPACE},reason="ExitCode3",{REVISION}}} 2.0'
    assert "unkai_revision_instance_failures_total" + failures in text


def test_logs_show_the_failures_the_giving_up_and_the_refusals(
    outcome: tuple[Outcome, PlatformDir],
) -> None:
    told = messages(outcome[1])
    failed = [line for line in told if line.startswith("an instance failed to start: ExitCode3")]
    assert len(failed) == 2
    assert any(line.startswith("gave up after 2 failed starts in a row") for line in told)
    assert (
        "2 requests refused (503): the revision starts no instance (CrashLoopBackOff),"
        " in the last 0.1s"
    ) in told
    platform_lines = (outcome[1].root / "logs").rglob("platform.log")
    lines = [line for path in platform_lines for line in path.read_text().splitlines()]
    levels = {json.loads(line)["level"] for line in lines}
    assert levels == {"error", "warning"}
