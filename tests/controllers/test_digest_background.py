"""A registry that never answers holds no reconcile worker: the serving controllers, on
one worker, over a real SQLite store, resolve tags with the real registry client.

One revision's tag names a registry that is a listening socket and nothing more (the
kernel completes the connection; nothing is ever read or written), and the resolution
may wait for it far longer than the test's deadline; another revision's tag is in a
real registry (Debian's docker-registry). The second gets its digest while the first
still says it is resolving, which a reconcile that waited on the registry could not
do with a single worker.
"""

import asyncio
import functools
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.build.registries import LocalRegistry, push_version
from tests.controllers.readiness import InMemoryReadiness
from unkai.platform.apiserver import standard_registry
from unkai.platform.apiserver.service import ResourceService
from unkai.platform.controllers.loop import REVISIONS, ServingControllers
from unkai.platform.controllers.route import Network
from unkai.platform.runners.images import resolve_digest
from unkai.platform.store import Store

pytestmark = pytest.mark.slow

DEADLINE = 30.0
NEVER = 90.0  # the resolution's own timeout: longer than the deadline


@pytest.fixture
def silent() -> Iterator[str]:
    """``host:port`` of a "registry" that accepts connections and never answers.
    Closing it resets the connections waiting on it, so no thread waits out ``NEVER``."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"127.0.0.1:{listener.getsockname()[1]}"


def revision(name: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Revision",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"image": image}]},
    }


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [c for c in (obj.get("status") or {}).get("conditions", []) if c["type"] == kind]
    return found[0] if found else {}


def test_a_silent_registry_delays_no_other_revision(
    registry: LocalRegistry, silent: str, tmp_path: Path
) -> None:
    digest = push_version(registry, tmp_path / "one", "1")

    async def scenario() -> dict[str, dict[str, Any]]:
        store = await Store.open(tmp_path / "store.db")
        api = ResourceService(store, standard_registry())
        await api.ensure_namespace("default")
        resolve = functools.partial(resolve_digest, skipping=(), timeout=NEVER)
        controllers = ServingControllers(
            api, readiness=InMemoryReadiness(), network=Network(),
            program_route=lambda key, table: None, resolve_digest=resolve, workers=1,
        )  # fmt: skip
        await controllers.start()
        rt = api.registry.get(REVISIONS)
        latest: dict[str, dict[str, Any]] = {}
        try:
            async with await api.watch(rt, namespace="default") as events:
                await api.create(
                    rt, revision("silent-00001", f"{silent}/app:1"), namespace="default"
                )
                await api.create(rt, revision("tagged-00001", f"{registry.host}/app:1"),
                                 namespace="default")  # fmt: skip
                async with asyncio.timeout(DEADLINE):
                    async for _, obj in events:
                        latest[obj["metadata"]["name"]] = obj
                        tagged = latest.get("tagged-00001", {})
                        if (tagged.get("status") or {}).get("containerStatuses"):
                            break
            await api.delete(rt, name="silent-00001", namespace="default")
        finally:
            await controllers.stop()
            await store.close()
        return latest

    latest = asyncio.run(scenario())
    statuses = latest["tagged-00001"]["status"]["containerStatuses"]
    assert statuses == [{"name": "user-container", "imageDigest": f"{registry.host}/app@{digest}"}]
    waiting = condition(latest["silent-00001"], "ContainerHealthy")
    assert (waiting["status"], waiting["message"]) == (
        "Unknown", f'Resolving image "{silent}/app:1" to a digest'
    )  # fmt: skip
    assert condition(latest["silent-00001"], "Ready")["status"] == "Unknown"
