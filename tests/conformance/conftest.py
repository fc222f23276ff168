"""One real ``unkai up`` per test module, and Services running the runtime function.

The platform is the e2e suite's (real gateway, data plane, fork-server instances) on
loopback ports chosen by the kernel, in a temporary data dir; each test applies its own
Service (named after the Knative test it ports) and talks to it over real HTTP.
"""

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.build.registries import LocalRegistry, running
from tests.controllers.readiness import InMemoryReadiness
from tests.e2e.conftest import QUICK, LivePlatform
from tests.support.embedded import started
from unkai.kube import kinds
from unkai.platform import bundles
from unkai.platform.embedded import Settings

RUNTIME = Path(__file__).parent / "functions" / "runtime"


class Conformance(LivePlatform):
    """The live platform with the helpers Knative's conformance tests lean on."""

    def apply(self, obj: dict[str, Any]) -> None:
        kind = kinds.find(obj["apiVersion"], obj["kind"])
        assert kind is not None
        obj["metadata"].setdefault("namespace", "default")
        self.client().apply(kinds.resource(kind).from_dict(obj), force=True)

    def service_with(self, name: str, container: dict[str, Any] | None = None, *,
                     annotations: dict[str, str] | None = None,
                     labels: dict[str, str] | None = None, **spec: Any) -> None:  # fmt: skip
        """Apply Service ``name`` running the runtime function, with these container and
        revision spec fields and template annotations, and the Service's ``labels``."""
        image = self.image(name)
        self.apply({
            "apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {"template": {
                "metadata": {"annotations": annotations or {}},
                "spec": {"containers": [{"image": image, **(container or {})}], **spec},
            }},
        })  # fmt: skip

    def every_volume_kind(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Volumes of every kind Knative allows (ConfigMap ``vol-conf`` and Secret
        ``vol-secret`` applied for them) and their mounts: Knative's volume tests in one
        revision, for either runner."""
        self.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "vol-conf"},
                    "data": {"greeting": "hello", "other": "x"}})  # fmt: skip
        self.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "vol-secret"},
                    "stringData": {"token": "s3cr3t"}})  # fmt: skip
        volumes = [
            {"name": "conf", "configMap": {"name": "vol-conf"}},
            {"name": "secret", "secret": {"secretName": "vol-secret"}},
            {"name": "both", "projected": {"sources": [
                {"configMap": {"name": "vol-conf", "items": [{"key": "greeting", "path": "g"}]}},
                {"secret": {"name": "vol-secret"}}]}},
            {"name": "missing", "configMap": {"name": "nowhere", "optional": True}},
            {"name": "scratch", "emptyDir": {}},
            {"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
        ]  # fmt: skip
        mounts = [
            {"name": "conf", "mountPath": "/etc/conf", "readOnly": True},
            {"name": "secret", "mountPath": "/etc/secret", "readOnly": True},
            {"name": "both", "mountPath": "/etc/both", "readOnly": True},
            {"name": "missing", "mountPath": "/etc/missing", "readOnly": True},
            {"name": "scratch", "mountPath": "/data"},
            {"name": "cache", "mountPath": "/cache"},
        ]
        return volumes, mounts

    def image(self, name: str) -> str:
        """The runtime function's bundle, as the image of a revision of ``name``."""
        digest = self.platform.bundles.of("default").put(bundles.pack(RUNTIME))
        return bundles.format_reference(namespace="default", name=name, digest=digest)

    def condition(
        self, name: str, kind: kinds.Kind, type_: str, check: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        """The ``type_`` condition of ``name`` once ``check`` holds for it."""
        found: dict[str, Any] = {}

        def holds(obj: dict[str, Any]) -> bool:
            nonlocal found
            conditions = obj.get("status", {}).get("conditions", [])
            found = next((c for c in conditions if c["type"] == type_), {})
            return bool(found) and check(found)

        self.wait_for(name, holds, kind=kind, timeout=60)
        return found

    def ready(self, name: str) -> dict[str, Any]:
        return self.wait_for(name, is_ready, timeout=60)

    def get(self, name: str, path: str = "/") -> httpx2.Response:
        """GET ``path`` (query included, as written) from Service ``name``."""
        with self.http() as http:
            return http.get(path, headers={"Host": f"{name}.default.localhost"})

    def view(self, name: str) -> dict[str, Any]:
        """The runtime view of an instance of ``name``."""
        response = self.get(name)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


def is_ready(obj: dict[str, Any]) -> bool:
    conditions = obj.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def until(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Wait for ``check()`` to hold, up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened within {timeout:g}s: {what}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conformance]:
    data_dir = tmp_path_factory.mktemp("unkai")
    settings = Settings(data_dir=data_dir, api_port=0, gateway_port=0, autoscaler=QUICK)
    with started(settings) as (embedded, loop):
        running = Conformance(embedded, loop, InMemoryReadiness(), embedded.files.kubeconfig)
        yield running
        running.close()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """A real registry (Debian's docker-registry) on loopback for the module's tests."""
    with running(tmp_path_factory.mktemp("registry")) as serving:
        yield serving
