"""With ``private_network`` (``unkai up --private-network``), a sandboxed instance has a
network namespace of its own with outbound access only (issue 13): it cannot reach the
machine's loopback (the API server, the gateway, local databases), it can open
connections out, and nothing outside can connect to a port it listens on.

Needs root, bubblewrap, slirp4netns and writable cgroups (``scripts/system-packages``);
elsewhere it skips and says which is missing. Outbound access is checked against a
server on this machine's own non-loopback address (the test machine has no other
network), and skips where the machine has none.
"""

import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psutil
import pytest
from tests.runners.conftest import MakeSpec, call, sandboxed_runner

from unkai.platform.runners import LogFiles, ProcessRunner

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.fixture
async def sandboxed(logs: LogFiles, tmp_path: Path) -> AsyncIterator[ProcessRunner]:
    async with sandboxed_runner(logs, tmp_path / "envs", private_network=True) as runner:
        yield runner


@pytest.fixture
def outside() -> str:
    """An IPv4 address of this machine other than loopback."""
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                return str(address.address)
    pytest.skip("this machine has no IPv4 address besides loopback")


def server(host: str) -> Iterator[int]:
    """A TCP server on ``host`` answering every connection; its port."""
    with socket.create_server((host, 0)) as listener:

        def serve() -> None:
            while True:
                try:
                    connection, _ = listener.accept()
                except OSError:
                    return
                connection.close()

        threading.Thread(target=serve, daemon=True).start()
        yield listener.getsockname()[1]


@pytest.fixture
def on_loopback() -> Iterator[int]:
    yield from server("127.0.0.1")


@pytest.fixture
def on_outside(outside: str) -> Iterator[int]:
    yield from server(outside)


async def test_a_function_reaches_out_but_not_the_machines_loopback(
    sandboxed: ProcessRunner, make_spec: MakeSpec, outside: str, on_loopback: int, on_outside: int
) -> None:
    instance = await sandboxed.start(make_spec("spy"))

    socket.create_connection(("127.0.0.1", on_loopback), timeout=5).close()  # there, for us
    assert await call(instance, "/connect", host="127.0.0.1", port=on_loopback) == {
        "connect": "ConnectionRefusedError"  # its own loopback, where nothing listens
    }
    assert await call(instance, "/connect", host=outside, port=on_outside) == {"connect": "done"}


async def test_nothing_outside_connects_to_what_a_function_listens_on(
    sandboxed: ProcessRunner, make_spec: MakeSpec
) -> None:
    instance = await sandboxed.start(make_spec("spy"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free here; the function takes it in its own network

    assert await call(instance, "/listen", port=port) == {"listen": "done"}

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    inside = await call(instance, "/connect", host="127.0.0.1", port=port)
    assert inside == {"connect": "done"}  # it does listen, in its own network
