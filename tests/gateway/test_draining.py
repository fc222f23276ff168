"""Draining and the instance connection pool.

An instance left out of the endpoints takes no new request; what it has in flight
finishes, and the data plane can read (or await) when nothing is left. A pooled
connection the instance closed just as the gateway reused it is retried on a new
one, when nothing of the request had to be re-read.
"""

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from tests.gateway.conftest import NS, RunningGateway, wait_for
from tests.gateway.upstreams import Upstream

from unkai.platform.contracts import RevisionKey
from unkai.platform.gateway import Endpoint

KEY = RevisionKey(NS, "hello-00001")


def test_a_draining_instance_finishes_what_it_has(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    old, new = upstream("slow", "old"), upstream("slow", "new")
    gw.endpoints("hello-00001", old)
    host = gw.route("hello", {"hello-00001": 100})
    with ThreadPoolExecutor(1) as pool, gw.client(host) as client, gw.client(host) as other:
        in_flight = pool.submit(client.get, "/?delay=0.6")
        wait_for(lambda: gw.in_flight("hello-00001", old.endpoint) == 1)
        gw.endpoints("hello-00001", new)
        drained = asyncio.run_coroutine_threadsafe(gw.gateway.drained(KEY, old.endpoint), gw.loop)
        assert other.get("/").text == "new"
        assert gw.in_flight("hello-00001", old.endpoint) == 1
        assert not drained.done()
        response = in_flight.result(5)
        drained.result(5)
    assert (response.status_code, response.text) == (200, "old")
    assert gw.in_flight("hello-00001", old.endpoint) == 0
    assert old.log.served == 1


class ClosingInstance:
    """Answers the first request on each connection, then closes the connection when
    the next one arrives, as a server whose keep-alive ran out at that moment does."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = Endpoint("127.0.0.1", self.listener.getsockname()[1])
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer_once, args=(conn,), daemon=True).start()

    def _answer_once(self, conn: socket.socket) -> None:
        with conn:
            if b"\r\n\r\n" in conn.recv(65536):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            conn.recv(65536)  # the next request: close without a word


@pytest.fixture
def closing() -> Iterator[ClosingInstance]:
    instance = ClosingInstance()
    yield instance
    instance.listener.close()


def test_a_reused_connection_closed_by_the_instance_is_retried(
    gw: RunningGateway, closing: ClosingInstance
) -> None:
    gw.call(gw.gateway.set_endpoints, KEY, [closing.endpoint])
    host = gw.route("hello", {"hello-00001": 100})
    with gw.client(host) as client:
        assert [client.get("/").text for _ in range(3)] == ["ok"] * 3
        # A body cannot be sent again, nor a request that may have had an effect:
        # those failures are the client's to see.
        assert client.post("/", content=b"body").status_code == 502
        assert client.get("/").text == "ok"  # on a new connection, pooled afterwards
        assert client.delete("/").status_code == 502
    assert closing.connections == 4  # one per retry and the new one; none for the others


def test_stop_lets_requests_in_flight_finish(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    slow = upstream("slow")
    gw.endpoints("hello-00001", slow)
    host = gw.route("hello", {"hello-00001": 100})
    with ThreadPoolExecutor(1) as pool, gw.client(host) as client:
        in_flight = pool.submit(client.get, "/?delay=0.4")
        wait_for(lambda: gw.in_flight("hello-00001", slow.endpoint) == 1)
        stopped = asyncio.run_coroutine_threadsafe(gw.gateway.stop(grace=5), gw.loop)
        response = in_flight.result(5)
        stopped.result(5)
    assert (response.status_code, response.text) == (200, "slow")
    assert response.headers["connection"] == "close"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", gw.gateway.port), timeout=1).close()
