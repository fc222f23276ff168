"""Request body limit (``runtime.maxBodySize``, 1 KiB for this function).

Aspects: a body within the limit reaches the function; one whose Content-Length is over
the limit gets 413 without the function running; a chunked body with no announced
length gets 413 once the streamed bytes pass the limit.
"""

from collections.abc import Iterator

import httpx2
import pytest
from tests.support.servers import RunningFunction, Serve

LIMIT = 1024


@pytest.fixture(scope="module")
def server(serve_shared: Serve) -> RunningFunction:
    return serve_shared("limits")


def chunked(total: int, size: int = 256) -> Iterator[bytes]:
    for start in range(0, total, size):
        yield b"y" * min(size, total - start)


def test_a_body_at_the_limit_is_served(server: RunningFunction) -> None:
    assert httpx2.post(server.url, content=b"x" * LIMIT).json() == {"length": LIMIT}
    streamed = httpx2.post(server.url, content=chunked(LIMIT))
    assert streamed.json() == {"length": LIMIT}


def test_content_length_over_the_limit_is_413_up_front(server: RunningFunction) -> None:
    response = httpx2.post(server.url, content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert f"limit {LIMIT} bytes" in response.text


def test_a_chunked_body_over_the_limit_is_413_while_streaming(server: RunningFunction) -> None:
    response = httpx2.post(server.url, content=chunked(64 * LIMIT))
    assert response.status_code == 413
    assert f"limit {LIMIT} bytes" in response.text
    assert not any(line.get("level") == "error" for line in server.logs())
