"""Request and response bodies stream through the runtime instead of being held in memory.

Aspects: a 1 GiB response from an async generator arrives whole while the server's
resident memory stays far below its size; a 512 MiB chunked upload is read chunk by
chunk by the function, again with bounded memory.
"""

from collections.abc import Iterator

import httpx2
import pytest
from tests.support.servers import RunningFunction, Serve

MiB = 2**20
BOUND = 128 * MiB  # growth allowed while streaming; the bodies are 4-8 times larger


@pytest.fixture(scope="module")
def server(serve_shared: Serve) -> RunningFunction:
    return serve_shared("streaming")


@pytest.mark.slow
def test_a_1_gib_response_streams_with_bounded_memory(server: RunningFunction) -> None:
    before = server.rss()
    peak = received = 0
    with httpx2.stream("GET", server.url + "/download?mib=1024", timeout=60) as response:
        assert response.status_code == 200
        for index, chunk in enumerate(response.iter_raw(MiB)):
            received += len(chunk)
            if index % 64 == 0:
                peak = max(peak, server.rss())
    assert received == 1024 * MiB
    assert peak - before < BOUND


def test_a_large_upload_streams_with_bounded_memory(server: RunningFunction) -> None:
    before = server.rss()
    peak = 0

    def body() -> Iterator[bytes]:
        nonlocal peak
        for index in range(512):
            if index % 64 == 0:
                peak = max(peak, server.rss())
            yield b"z" * MiB

    response = httpx2.post(server.url + "/upload", content=body(), timeout=60)
    assert response.json() == {"received": 512 * MiB}
    assert peak - before < BOUND
