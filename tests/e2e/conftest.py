"""An embedded platform (API server + controllers) in-process, with a data plane the
test controls: revisions become ready or fail when the test says so."""

import asyncio
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml
from lightkube import Client, KubeConfig
from lightkube.core.exceptions import ApiError

from tests.controllers.readiness import InMemoryReadiness
from tests.support.embedded import started
from unkai.kube import kinds
from unkai.platform import bundles
from unkai.platform.autoscaler import AutoscalerConfig
from unkai.platform.contracts import RevisionHealth
from unkai.platform.embedded import Platform, Settings


@dataclass
class RunningPlatform:
    platform: Platform
    loop: asyncio.AbstractEventLoop
    readiness: InMemoryReadiness
    kubeconfig_path: Path
    _client: Client | None = None

    def url(self, host: str) -> str:
        return f"http://{host}:{self.platform.gateway.port}"

    def client(self) -> Client:
        """One lightkube client for the test, closed with the platform."""
        if self._client is None:
            config = KubeConfig.from_dict(self.platform.api.kubeconfig())
            self._client = Client(config, field_manager="tests")
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def report(self, revision: str, health: RevisionHealth) -> None:
        """The data plane's answer for ``revision`` changes."""
        self.readiness.set(revision, health)
        controllers = self.platform.controllers
        assert controllers is not None
        self.loop.call_soon_threadsafe(controllers.revision_changed, "default", revision)

    def kubectl(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        if shutil.which("kubectl") is None:
            pytest.skip("kubectl is not installed (it is what this test drives)")
        return subprocess.run(
            ["kubectl", "--kubeconfig", str(self.kubeconfig_path), *args], input=stdin,
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    def service(self, name: str, kind: kinds.Kind = kinds.SERVICE) -> dict[str, Any]:
        obj = self.client().get(kinds.resource(kind), name, namespace="default")
        return dict(obj.to_dict())

    def wait_for(
        self,
        name: str,
        check: Callable[[dict[str, Any]], bool],
        *,
        timeout: float = 30,
        kind: kinds.Kind = kinds.SERVICE,
    ) -> dict[str, Any]:
        """The object once ``check`` holds for it (fails with its last state)."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                last = self.service(name, kind)
            except ApiError:
                last = {}
            if last and check(last):
                return last
            time.sleep(0.05)
        raise AssertionError(f"{name} never satisfied the check:\n{yaml.safe_dump(last)}")

    def revision_names(self) -> list[str]:
        found = self.client().list(kinds.resource(kinds.REVISION), namespace="default")
        return sorted(obj.metadata.name for obj in found)


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[RunningPlatform]:
    readiness = InMemoryReadiness()
    settings = Settings(data_dir=tmp_path, api_port=0, gateway_port=0)
    with started(settings, readiness=readiness) as (embedded, loop):
        running = RunningPlatform(embedded, loop, readiness, embedded.files.kubeconfig)
        yield running
        running.close()


ECHO = Path(__file__).parent / "functions" / "echo"
QUICK = AutoscalerConfig(
    stable_window=2.0, scale_to_zero_grace_period=0.5, tick_interval=0.2, bucket_size=0.2
)


@dataclass
class LivePlatform(RunningPlatform):
    """A platform with its real data plane: instances run, the gateway serves."""

    def deploy(self, name: str, *, target: str, spec: dict[str, Any] | None = None,
               annotations: dict[str, str] | None = None,
               traffic: list[dict[str, Any]] | None = None) -> None:  # fmt: skip
        """Apply Service ``name`` running the echo function with ``TARGET=target``."""
        digest = self.platform.bundles.of("default").put(bundles.pack(ECHO))
        image = bundles.format_reference(namespace="default", name=name, digest=digest)
        template: dict[str, Any] = {
            "metadata": {"annotations": annotations or {}},
            "spec": {
                "containers": [{"image": image, "env": [{"name": "TARGET", "value": target}]}],
                **(spec or {}),
            },
        }
        manifest: dict[str, Any] = {
            "apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"template": template, **({"traffic": traffic} if traffic else {})},
        }  # fmt: skip
        self.client().apply(kinds.resource(kinds.SERVICE).from_dict(manifest), force=True)

    def http(self) -> httpx2.Client:
        return httpx2.Client(base_url=f"http://127.0.0.1:{self.platform.gateway.port}", timeout=30)


@pytest.fixture
def live(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LivePlatform]:
    """``parametrize("live", [False], indirect=True)``: with isolation switched off."""
    isolate = getattr(request, "param", True)
    settings = Settings(
        data_dir=tmp_path, api_port=0, gateway_port=0, autoscaler=QUICK, isolate=isolate
    )
    with started(settings) as (embedded, loop):
        running = LivePlatform(embedded, loop, InMemoryReadiness(), embedded.files.kubeconfig)
        yield running
        running.close()
