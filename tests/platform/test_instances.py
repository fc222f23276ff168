"""A revision's instance manager survives a failure of its own: it reports it in the
revision's health and starts over, instead of dying while the revision says Ready; and
one instance crashing while another serves does not turn the revision's health False.

The runner is a stand-in whose ``retire`` fails once with an ``OSError`` (as reading
an unreadable instance log did); the gateway is a real, unstarted one.
"""

import asyncio
import contextlib
from pathlib import Path

import httpx2
import pytest
from prometheus_client import CollectorRegistry, Histogram

from unkai.platform.bundles import BundleStore, pack
from unkai.platform.contracts import Report
from unkai.platform.gateway import Gateway
from unkai.platform.instances import RevisionInstances
from unkai.platform.runners import Instance, InstanceSpec, LogFiles, ProcessRunner


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
        runner = ProcessRunner(logs=LogFiles(tmp_path / "logs"), ready_timeout=20)
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
