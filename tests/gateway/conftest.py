"""Fixtures: a real gateway on an ephemeral loopback port, real uvicorn instances.

The gateway runs on a uvloop event loop in a background thread, as ``unkai up`` runs
it; tests configure it through :meth:`RunningGateway.call` (the setters run on the
gateway's loop, as the platform calls them) and talk to it over real HTTP with httpx2
or raw sockets. ``upstream(kind)`` starts an instance app from :mod:`.upstreams`.
"""

import asyncio
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import pytest
import uvloop
from prometheus_client import CollectorRegistry
from tests.gateway.upstreams import Upstream

from unkai.platform.contracts import RevisionKey, RoutingTable
from unkai.platform.gateway import Endpoint, Gateway, GatewayConfig, RevisionSettings

T = TypeVar("T")
NS = "default"


@dataclass
class RecordingMeter:
    """Stands for the autoscaler's meter: keeps every start and end it is told."""

    started_at: list[float] = field(default_factory=list)
    finished_at: list[float] = field(default_factory=list)

    def started(self, now: float) -> None:
        self.started_at.append(now)

    def finished(self, now: float) -> None:
        self.finished_at.append(now)


@dataclass
class RunningGateway:
    """A started gateway, the loop it runs on, and what it told the autoscaler."""

    gateway: Gateway
    loop: asyncio.AbstractEventLoop
    registry: CollectorRegistry
    cold: list[RevisionKey] = field(default_factory=list)
    meters: dict[RevisionKey, RecordingMeter] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway.port}"

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the gateway's loop and return its result."""

        async def run() -> T:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def route(self, service: str, split: dict[str, int], tags: dict[str, str] | None = None) -> str:
        """Route ``{service}.default.localhost`` (and tag hosts); returns the host."""
        host = f"{service}.{NS}.localhost"
        table = RoutingTable(
            host=host,
            split=tuple(split.items()),
            tags={f"{tag}-{host}": revision for tag, revision in (tags or {}).items()},
        )
        self.call(self.gateway.set_route, NS, table)
        return host

    def endpoints(self, revision: str, *upstreams: Upstream) -> None:
        self.call(
            self.gateway.set_endpoints,
            RevisionKey(NS, revision),
            [upstream.endpoint for upstream in upstreams],
        )

    def configure(self, revision: str, **settings: Any) -> None:
        self.call(
            self.gateway.configure_revision, RevisionKey(NS, revision), RevisionSettings(**settings)
        )

    def in_flight(self, revision: str, endpoint: Endpoint) -> int:
        return self.call(self.gateway.in_flight, RevisionKey(NS, revision), endpoint)

    def client(self, host: str, *, timeout: float = 10) -> httpx2.Client:
        return httpx2.Client(base_url=self.url, headers={"Host": host}, timeout=timeout)


def wait_for(condition: Callable[[], bool], timeout: float = 5) -> None:
    """Poll ``condition`` until it holds (fails the test after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def start_gateway() -> Iterator[Callable[..., RunningGateway]]:
    """Start gateways (``GatewayConfig`` fields as keywords); all stop at the end."""
    running: list[tuple[RunningGateway, threading.Thread]] = []

    def start(**config: Any) -> RunningGateway:
        loop = uvloop.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="gateway-test", daemon=True)
        thread.start()
        registry = CollectorRegistry()
        cold: list[RevisionKey] = []
        meters: dict[RevisionKey, RecordingMeter] = {}
        gateway = Gateway(
            GatewayConfig(**config),
            registry=registry,
            on_cold_request=cold.append,
            meter=lambda key: meters.setdefault(key, RecordingMeter()),
        )
        asyncio.run_coroutine_threadsafe(gateway.start("127.0.0.1", 0), loop).result(10)
        handle = RunningGateway(gateway, loop, registry, cold, meters)
        running.append((handle, thread))
        return handle

    yield start
    for handle, thread in running:
        asyncio.run_coroutine_threadsafe(handle.gateway.stop(grace=1), handle.loop).result(10)
        handle.loop.call_soon_threadsafe(handle.loop.stop)
        thread.join(10)
        handle.loop.close()


@pytest.fixture
def gw(start_gateway: Callable[..., RunningGateway]) -> RunningGateway:
    """A gateway with default settings."""
    return start_gateway()


@pytest.fixture
def upstream() -> Iterator[Callable[..., Upstream]]:
    """Start instance apps by kind (see :mod:`tests.gateway.upstreams`); all stop at the end."""
    started: list[Upstream] = []

    def start(kind: str, name: str = "", unix: Path | None = None) -> Upstream:
        server = Upstream(kind, name, unix)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def unix_socket() -> Iterator[Path]:
    """A path for an instance's Unix socket, short enough for ``AF_UNIX``'s limit."""
    directory = Path(tempfile.mkdtemp(prefix="unkai-test-"))
    yield directory / "instance.sock"
    shutil.rmtree(directory, ignore_errors=True)
