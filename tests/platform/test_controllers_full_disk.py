"""A full data disk under the controllers (issue 13, item 4): a status they cannot
write is not lost silently. The failure is said on stderr (the log file is on the same
full disk), and the status is written once there is room again, without another event.

A real in-process platform (API, store, controllers) whose data dir is on a small tmpfs
of the test's own, filled while a revision's readiness changes.
"""

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from lightkube import ApiError, Client, KubeConfig
from tests.controllers.readiness import READY, InMemoryReadiness
from tests.platform.fulldisk import SmallDisk, small_disk
from tests.support.embedded import started

from unkai.kube import kinds
from unkai.platform.embedded import Platform, Settings
from unkai.platform.platformlog import FallbackFileHandler
from unkai.runtime.logs import JSONFormatter

pytestmark = pytest.mark.slow
SERVICE = {
    "apiVersion": "serving.knative.dev/v1", "kind": "Service",
    "metadata": {"name": "hello", "namespace": "default"},
    "spec": {"template": {"spec": {"containers": [{"image": "example.com/hello"}]}}},
}  # fmt: skip


@pytest.fixture
def disk() -> Iterator[SmallDisk]:
    with small_disk("16m") as mounted:
        yield mounted


@pytest.fixture
def logged_to(disk: SmallDisk) -> Iterator[FallbackFileHandler]:
    """The platform's log as ``unkai up --detach`` writes it: a file on the data disk."""
    (disk.root / "data").mkdir()
    handler = FallbackFileHandler(disk.root / "data" / "platform.log")
    handler.setFormatter(JSONFormatter())
    logger = logging.getLogger("unkai")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    handler.close()


def until(check: Callable[[], Any], failure: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)
    return found


def ready(client: Client, kind: kinds.Kind, name: str) -> str:
    try:
        obj = client.get(kinds.resource(kind), name, namespace="default").to_dict()
    except ApiError:
        return ""
    found = [c for c in obj.get("status", {}).get("conditions", []) if c["type"] == "Ready"]
    return str(found[0]["status"]) if found else ""


def test_a_status_not_written_on_a_full_disk_is_said_on_stderr_then_written(
    disk: SmallDisk, logged_to: FallbackFileHandler, capfd: pytest.CaptureFixture[str]
) -> None:
    readiness = InMemoryReadiness()
    settings = Settings(data_dir=disk.root / "data", api_port=0, gateway_port=0)
    with started(settings, readiness=readiness) as (platform, loop):
        client = Client(KubeConfig.from_dict(platform.api.kubeconfig()), field_manager="t")
        client.apply(kinds.resource(kinds.SERVICE).from_dict(SERVICE), force=True)
        until(lambda: ready(client, kinds.REVISION, "hello-00001") == "Unknown", "no revision")
        capfd.readouterr()

        disk.fill()
        readiness.set("hello-00001", READY)
        changed(platform, loop, "hello-00001")

        said = until(lambda: capfd.readouterr().err, "nothing said on stderr", timeout=30)
        assert "cannot write the log file" in said
        assert "database or disk is full" in said  # the status write's own failure
        assert ready(client, kinds.REVISION, "hello-00001") == "Unknown"  # reads go on

        disk.free()  # no new event: the controllers' retry writes it
        until(lambda: ready(client, kinds.SERVICE, "hello") == "True", "status never written")
        client.close()


def changed(platform: Platform, loop: Any, revision: str) -> None:
    controllers = platform.controllers
    assert controllers is not None
    loop.call_soon_threadsafe(controllers.revision_changed, "default", revision)
