"""A function calls another Service by its cluster-local name on a real ``unkai up``:
instances are told the gateway's internal listener (``K_INTERNAL_GATEWAY``) and use it
as the HTTP proxy of ``*.svc.cluster.local`` URLs, with plain ``urllib``; the callee is
cluster-local, so the public gateway does not serve it at all (one platform, sandboxed
instances as ``unkai up`` runs them). An instance with a network of its own, where
loopback is out of reach, is not told the address."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conformance.conftest import Conformance
from tests.controllers.readiness import InMemoryReadiness
from tests.e2e.conftest import QUICK
from tests.runners.conftest import FUNCTIONS, call, sandboxed_runner
from tests.support.embedded import started

from unkai.platform import bundles
from unkai.platform.bundles import BundleStore
from unkai.platform.embedded import Settings
from unkai.platform.runners import InstanceSpec, LogFiles

pytestmark = pytest.mark.slow
LOCAL_VISIBILITY = {"networking.knative.dev/visibility": "cluster-local"}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conformance]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("unkai"), api_port=0, gateway_port=0, autoscaler=QUICK
    )
    with started(settings) as (embedded, loop):
        running = Conformance(embedded, loop, InMemoryReadiness(), embedded.files.kubeconfig)
        yield running
        running.close()


def deploy(live: Conformance, name: str, function: Path, labels: dict[str, str]) -> None:
    digest = live.platform.bundles.of("default").put(bundles.pack(function))
    image = bundles.format_reference(namespace="default", name=name, digest=digest)
    live.apply({
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {"template": {"spec": {"containers": [{"image": image}]}}},
    })  # fmt: skip
    live.ready(name)


def test_a_function_calls_a_cluster_local_service_by_its_name(live: Conformance) -> None:
    deploy(live, "callee", FUNCTIONS / "echo", LOCAL_VISIBILITY)
    deploy(live, "caller", FUNCTIONS / "caller", {})
    with live.http() as http:
        hidden = http.get("/", headers={"Host": "callee.default.svc.cluster.local"})
        called = http.get(
            "/", params={"name": "callee"}, headers={"Host": "caller.default.localhost"}
        )
        missing = http.get(
            "/", params={"name": "nobody"}, headers={"Host": "caller.default.localhost"}
        )
    assert hidden.status_code == 404  # not on the public listener
    assert called.json() == {"status": 200, "body": "hello"}
    assert missing.json()["status"] == 404


@pytest.mark.anyio
async def test_a_private_network_instance_is_not_told_an_unreachable_gateway(
    tmp_path: Path,
) -> None:
    store = BundleStore(tmp_path / "bundles")
    digest = store.put(bundles.pack(FUNCTIONS / "caller"))
    spec = InstanceSpec(
        namespace="default", revision="caller-00001", configuration="caller",
        image=f"unkai.local/default/caller@{digest}", bundle=store.path(digest),
    )  # fmt: skip
    async with sandboxed_runner(
        LogFiles(tmp_path / "logs"), tmp_path / "envs", ready_timeout=30,
        private_network=True, internal_gateway=lambda: 9,
    ) as runner:  # fmt: skip
        answer = await call(await runner.start(spec), "/", name="callee")
    assert answer == {"error": "K_INTERNAL_GATEWAY is not set"}
