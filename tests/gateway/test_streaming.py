"""Bodies stream both ways: nothing is buffered whole, in either direction.

Checked three ways: the first chunk of a slow response arrives while the instance
is still writing the rest; 256 MiB go up (content-length and chunked) and down while the
process's resident memory stays far below that; requests pipelined on one
connection are answered in order.
"""

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from tests.gateway.conftest import RunningGateway
from tests.gateway.upstreams import Upstream

MIB = 1 << 20
SIZE_MB = 256
HEADROOM = 96 * MIB  # several times any socket buffer; far below the body


class PeakMemory:
    """Samples this process's RSS in a thread: the gateway, instance and client all
    live here, so any of them holding the body whole would show."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self.baseline = self._process.memory_info().rss
        self.peak = self.baseline
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(0.005):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak - self.baseline


@pytest.fixture
def memory() -> Iterator[Callable[[], PeakMemory]]:
    meters: list[PeakMemory] = []

    def start() -> PeakMemory:
        meters.append(PeakMemory())
        return meters[-1]

    yield start
    for meter in meters:
        meter.stop()


def chunks(count: int, size: int = MIB) -> Iterator[bytes]:
    block = b"u" * size
    for _ in range(count):
        yield block


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_the_first_chunk_arrives_before_the_instance_finishes(
    gw: RunningGateway, upstream: Callable[..., Upstream], unix_socket: Path, transport: str
) -> None:
    instance = upstream("stream", unix=unix_socket if transport == "unix" else None)
    gw.endpoints("hello-00001", instance)
    host = gw.route("hello", {"hello-00001": 100})
    with gw.client(host) as client, client.stream("GET", "/?chunks=3&every=0.4") as response:
        lines = response.iter_lines()
        assert next(lines) == "first"
        assert instance.log.in_flight == 1  # still writing its response
        assert list(lines) == ["chunk"] * 3


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_large_upload_streams_through(
    gw: RunningGateway,
    upstream: Callable[..., Upstream],
    memory: Callable[[], PeakMemory],
    framing: str,
) -> None:
    gw.endpoints("hello-00001", upstream("sink"))
    host = gw.route("hello", {"hello-00001": 100})
    headers = {"Content-Length": str(SIZE_MB * MIB)} if framing == "content-length" else {}
    meter = memory()
    with gw.client(host, timeout=60) as client:
        response = client.post("/", content=chunks(SIZE_MB), headers=headers)
    assert response.text == str(SIZE_MB * MIB)
    assert meter.stop() < HEADROOM


def test_a_large_download_streams_through(
    gw: RunningGateway, upstream: Callable[..., Upstream], memory: Callable[[], PeakMemory]
) -> None:
    gw.endpoints("hello-00001", upstream("source"))
    host = gw.route("hello", {"hello-00001": 100})
    meter = memory()
    received = 0
    with gw.client(host, timeout=60) as client, client.stream("GET", f"/?mb={SIZE_MB}") as response:
        for chunk in response.iter_raw():
            received += len(chunk)
    assert received == SIZE_MB * MIB
    assert meter.stop() < HEADROOM


def test_pipelined_requests_are_answered_in_order(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    gw.endpoints("hello-00001", upstream("slow"))
    host = gw.route("hello", {"hello-00001": 100})
    with socket.create_connection(("127.0.0.1", gw.gateway.port)) as sock:
        sock.sendall(
            f"GET /first?delay=0.3 HTTP/1.1\r\nHost: {host}\r\n\r\n"
            f"GET /second HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        )
        data = b""
        while data.count(b"HTTP/1.1 200") < 2 or not data.endswith(b"slow\r\n0\r\n\r\n"):
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 2


def test_http10_clients_get_a_body_they_can_read(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    gw.endpoints("hello-00001", upstream("slow"))
    host = gw.route("hello", {"hello-00001": 100})
    with socket.create_connection(("127.0.0.1", gw.gateway.port)) as sock:
        sock.sendall(f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):  # delimited by the gateway closing
            data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    assert b"transfer-encoding" not in head.lower()
    assert b"connection: close" in head.lower()
    assert body == b"slow"
