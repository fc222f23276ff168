"""A revision's instance manager survives a failure of its own: it reports it in the
revision's health and starts over, instead of dying while the revision says Ready; and
one instance crashing while another serves does not turn the revision's health False.

It also stops starting instances of a revision that keeps failing to start, as the
kubelet's CrashLoopBackOff, and says so. The runners are stand-ins: one whose ``retire``
fails once with an ``OSError`` (as reading an unreadable instance log did), one whose
every start fails (as a function that cannot load); the gateway is a real, unstarted one.
"""

import asyncio
import contextlib
import json
from pathlib import Path

import httpx2
import pytest
from prometheus_client import CollectorRegistry, Histogram

from unkai.platform.backoff import CrashLoop
from unkai.platform.bundles import BundleStore, pack
from unkai.platform.contracts import Report
from unkai.platform.gateway import Gateway
from unkai.platform.instances import RevisionInstances
from unkai.platform.logs import RevisionEvents
from unkai.platform.runners import (
    Instance,
    InstanceSpec,
    InstanceStartError,
    LogFiles,
    ProcessRunner,
)


class RetireFailsOnce:
    def __init__(self) -> None:
        self.retired = 0

    async def prepare(self, spec: InstanceSpec) -> None:
        return None

    async def start(self, spec: InstanceSpec) -> Instance:
        raise AssertionError("nothing asked for an instance")

    async def retire(self, key: object) -> None:
        self.retired += 1
        if self.retired == 1:
            raise IsADirectoryError("[Errno 21] Is a directory: 'instance.log'")

    async def close(self) -> None:
        return None


def test_a_failed_converge_is_reported_then_retried_until_it_goes_through() -> None:
    async def main() -> list[Report]:
        seen: list[Report] = []
        recovered = asyncio.Event()

        def changed() -> None:
            seen.append(instances.healthy)
            if instances.healthy.status == "True" and len(seen) > 1:
                recovered.set()

        cold = Histogram("cold", "", ["namespace", "revision"], registry=CollectorRegistry())
        instances = RevisionInstances(
            InstanceSpec(namespace="default", revision="hello-00001", configuration="hello"),
            runner=RetireFailsOnce(), gateway=Gateway(), cold_starts=cold,
            starts=asyncio.Semaphore(1), changed=changed,
        )  # fmt: skip
        instances.set_routed(False)
        instances.scale(0)
        await asyncio.wait_for(recovered.wait(), 10)
        await instances.close()
        return seen

    seen = asyncio.run(main())
    failed = [report for report in seen if report.status == "False"]
    assert [report.reason for report in failed] == ["ScalingFailed"]
    assert "IsADirectoryError" in failed[0].message
    assert seen[-1] == Report("True")


class NeverStarts:
    """A runner whose function fails to load every time, as a broken import does."""

    def __init__(self) -> None:
        self.attempts = 0

    async def prepare(self, spec: InstanceSpec) -> None:
        return None

    async def start(self, spec: InstanceSpec) -> Instance:
        self.attempts += 1
        raise InstanceStartError("ExitCode2", "error: importing func failed (func.py, line 2)")

    async def retire(self, key: object) -> None:
        return None

    async def close(self) -> None:
        return None


def test_a_revision_that_keeps_failing_to_start_gives_up_saying_why(tmp_path: Path) -> None:
    runner = NeverStarts()

    async def main() -> list[Report]:
        seen: list[Report] = []
        gave_up = asyncio.Event()

        def changed() -> None:
            seen.append(instances.healthy)
            if instances.healthy.reason == "CrashLoopBackOff":
                gave_up.set()

        cold = Histogram("cold", "", ["namespace", "revision"], registry=CollectorRegistry())
        instances = RevisionInstances(
            InstanceSpec(namespace="default", revision="hello-00001", configuration="hello"),
            runner=runner, gateway=Gateway(), cold_starts=cold, starts=asyncio.Semaphore(1),
            changed=changed, crash_loop=CrashLoop(base=0.001, cap=0.004, attempts=4),
            events=RevisionEvents(tmp_path),
        )  # fmt: skip
        instances.scale(1)
        await asyncio.wait_for(gave_up.wait(), 10)
        await instances.close()
        return seen

    seen = asyncio.run(main())
    assert runner.attempts == 4
    final = seen[-1]
    assert (final.status, final.reason) == ("False", "CrashLoopBackOff")
    assert final.message.startswith("gave up after 4 failed starts in a row; deploy again")
    assert final.message.endswith(
        "The last: ExitCode2: error: importing func failed (func.py, line 2)"
    )
    assert [report.reason for report in seen].count("CrashLoopBackOff") == 1
    told = [json.loads(line) for line in (tmp_path / "platform.log").read_text().splitlines()]
    assert [line["message"] for line in told] == [
        "an instance failed to start: ExitCode2: error: importing func failed (func.py, line 2)"
    ] * 4 + [final.message]
    assert {line["level"] for line in told} == {"error"}


@pytest.mark.parametrize(
    ("exits", "exhausted"),
    [([0.5] * 9, False), ([0.5] * 10, True), ([0.5] * 9 + [120.0], False)],
)
def test_the_crash_loop_stops_after_ten_failures_in_a_row(
    exits: list[float], exhausted: bool
) -> None:
    loop = CrashLoop()
    for ran_for in exits:
        loop = loop.after_exit(ran_for=ran_for)
    assert loop.exhausted is exhausted


RUNTIME = Path(__file__).parents[1] / "conformance" / "functions" / "runtime"


@pytest.mark.slow
def test_one_crash_among_serving_instances_does_not_flap_health(tmp_path: Path) -> None:
    """Knative inspects crashed pods only when none is available: a crash while another
    instance serves is replaced without the revision's health turning False."""

    async def main() -> list[Report]:
        store = BundleStore(tmp_path / "bundles")
        spec = InstanceSpec(
            namespace="default", revision="twice-00001", configuration="twice",
            bundle=store.path(store.put(pack(RUNTIME))), timeout_seconds=5,
        )  # fmt: skip
        # Unsandboxed: the test crashes one instance through its own TCP port.
        runner = ProcessRunner(logs=LogFiles(tmp_path / "logs"), ready_timeout=20, isolate=False)
        seen: list[Report] = []
        changed = asyncio.Event()

        def note() -> None:
            seen.append(instances.healthy)
            changed.set()

        cold = Histogram("cold", "", ["namespace", "revision"], registry=CollectorRegistry())
        instances = RevisionInstances(
            spec, runner=runner, gateway=Gateway(), cold_starts=cold,
            starts=asyncio.Semaphore(2), changed=note,
        )  # fmt: skip
        try:
            async with asyncio.timeout(30):
                instances.scale(2)
                while len(instances.ready) < 2:
                    changed.clear()
                    await changed.wait()
                first, second = instances.ready
                async with httpx2.AsyncClient() as http:
                    with contextlib.suppress(httpx2.HTTPError):
                        await http.get(f"{first.url}/crash")
                await first.wait()
                while len(instances.ready) < 2 or first in instances.ready:
                    changed.clear()
                    await changed.wait()
                assert second in instances.ready
        finally:
            await instances.close()
            await runner.close()
        return seen

    seen = asyncio.run(main())
    assert all(report.status != "False" for report in seen), seen
