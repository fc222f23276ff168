"""Fixtures for the API server tests: a real server on an ephemeral loopback port.

``run_api`` starts :class:`~unkai.platform.apiserver.ApiServer` (HTTPS, token auth,
SQLite in a temporary data dir) on an event loop in a background thread, as
``unkai up`` runs it, and stops it at the end; tests talk to it over real HTTP.
``api`` is one such server per test; ``start_api`` starts more (on a given data dir)
for restart tests.
"""

import asyncio
import ssl
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import pytest
from lightkube import Client, KubeConfig
from tests.support.certificates import seed

from unkai.platform.apiserver import ApiServer

T = TypeVar("T")
TOKEN = "test-token-0123456789"


@dataclass
class RunningApi:
    """A started API server and the loop it runs on."""

    server: ApiServer
    loop: asyncio.AbstractEventLoop
    data_dir: Path
    clients: list[Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def ssl_context(self) -> ssl.SSLContext:
        assert self.server.certificate is not None
        return ssl.create_default_context(cafile=str(self.server.certificate.ca_file))

    def client(self, *, token: str | None = TOKEN, timeout: float = 10) -> httpx2.Client:
        """An HTTP client for the server, authenticated unless ``token`` is None."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx2.Client(
            base_url=self.url, headers=headers, verify=self.ssl_context(), timeout=timeout
        )

    def kubeconfig(self) -> dict[str, Any]:
        return self.server.kubeconfig()

    def lightkube(self, *, field_manager: str = "tests") -> Client:
        """A lightkube client for the server, closed when the server stops."""
        client = Client(KubeConfig.from_dict(self.kubeconfig()), field_manager=field_manager)
        self.clients.append(client)
        return client

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's loop (for the in-process service API)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)


@contextmanager
def run_api(
    data_dir: Path,
    new_loop: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop,
    **options: Any,
) -> Iterator[RunningApi]:
    """Serve an API server on 127.0.0.1, on a free port, until the block ends (on a
    loop from ``new_loop``: ``uvloop.new_event_loop`` for the loop ``unkai up`` uses)."""
    if options.get("tls", True):
        seed(data_dir)
    loop = new_loop()
    server = ApiServer(data_dir=data_dir, token=TOKEN, port=0, **options)
    thread = threading.Thread(target=loop.run_forever, name="apiserver-test", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=30)
        running = RunningApi(server, loop, data_dir)
        yield running
        for client in running.clients:
            client.close()
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


StartApi = Callable[..., RunningApi]


@pytest.fixture(name="start_api")
def start_api_fixture(tmp_path: Path) -> Iterator[StartApi]:
    """Start servers (``data_dir`` defaults to the test's temporary dir)."""
    with ExitStack() as stack:

        def start(data_dir: Path = tmp_path / "data", **options: Any) -> RunningApi:
            return stack.enter_context(run_api(data_dir, **options))

        yield start


@pytest.fixture(name="api")
def api_fixture(start_api: StartApi) -> RunningApi:
    return start_api()


@pytest.fixture(name="http")
def http_fixture(api: RunningApi) -> Iterator[httpx2.Client]:
    with api.client() as client:
        yield client
