"""The API server against clients that open connections and send nothing (issue 13,
items 2 and 4): they are closed once the TLS handshake or the first head is overdue,
beyond the connection cap a new one is closed at once, and a flood of connections
that never start their handshake holds a bounded number of file descriptors, while an
authenticated call still succeeds.

Real HTTPS on loopback: the idle clients complete the TLS handshake (so they reach the
HTTP protocol) and then say nothing; the flood comes from a child process, so that the
descriptors counted in this one are the server's.
"""

import asyncio
import os
import select
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack, suppress

import httpx2
import pytest
import uvloop
from tests.platform.conftest import RunningApi, StartApi


def idle_client(api: RunningApi, stack: ExitStack) -> ssl.SSLSocket:
    """A TLS connection to the API that never sends a request."""
    raw = socket.create_connection(("127.0.0.1", api.server.port), timeout=10)
    tls = api.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1")
    stack.callback(tls.close)
    return tls


def closed_by_server(connection: ssl.SSLSocket, timeout: float) -> bool:
    """Whether the server closes ``connection`` within ``timeout`` seconds."""
    connection.settimeout(timeout)
    try:
        return connection.recv(1) == b""
    except TimeoutError:
        return False
    except (ConnectionResetError, ssl.SSLError):
        return True


def test_a_connection_that_sends_no_request_is_closed(start_api: StartApi) -> None:
    api = start_api(head_seconds=0.5)
    with ExitStack() as stack:
        # uvicorn alone would keep it open for ever: no keep-alive timer before a request
        assert closed_by_server(idle_client(api, stack), timeout=10)


def test_a_connection_that_never_completes_its_tls_handshake_is_closed(
    start_api: StartApi,
) -> None:
    api = start_api(handshake_seconds=0.5, head_seconds=600)
    with socket.create_connection(("127.0.0.1", api.server.port), timeout=10) as raw:
        # asyncio alone would wait 60 s for a ClientHello that never comes
        raw.settimeout(10)
        with suppress(ConnectionResetError):
            assert raw.recv(1) == b""
        with api.client() as client:
            assert answers(client)


def test_beyond_the_cap_new_connections_are_closed_and_calls_still_succeed(
    start_api: StartApi,
) -> None:
    api = start_api(max_connections=3, head_seconds=600)
    with ExitStack() as stack:
        silent = [idle_client(api, stack) for _ in range(3)]
        assert refused(api)  # the cap, not the timer
        for connection in silent:
            connection.close()
        with api.client() as client:  # room again once the server has let go of them
            deadline = time.monotonic() + 10
            while not answers(client):
                assert time.monotonic() < deadline, "no room made for a new connection"
                time.sleep(0.05)


FLOOD = """
import select, socket, sys
port, count, kept = (int(arg) for arg in sys.argv[1:])
flood = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
shed = set()
while len(shed) < count - kept:  # wait for the server to close all but `kept`
    readable, _, _ = select.select([s for s in flood if s not in shed], [], [])
    shed.update(readable)
print(len(shed), flush=True)
sys.stdin.read()  # hold the rest until the test ends
"""


@pytest.mark.parametrize(
    "new_loop", [asyncio.new_event_loop, uvloop.new_event_loop], ids=["asyncio", "uvloop"]
)
def test_a_flood_of_silent_connections_holds_few_descriptors_and_calls_succeed(
    start_api: StartApi, new_loop: Callable[[], asyncio.AbstractEventLoop]
) -> None:
    bound, count = 8, 120
    # neither deadline can free a descriptor during the test: only the handshake bound
    api = start_api(new_loop=new_loop, max_handshakes=bound, handshake_seconds=600)
    with api.client() as client:
        assert client.get("/api/v1/namespaces/default").status_code == 200  # kept alive
        with (
            subprocess.Popen(
                [sys.executable, "-c", FLOOD, str(api.server.port), str(count), str(bound)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            ) as flood,
            ExitStack() as stack,
        ):
            stack.callback(flood.kill)  # before the wait on leaving the block
            assert flood.stdout is not None
            baseline = open_descriptors()  # the server's, and the pipes to the flood
            deadline = time.monotonic() + 30
            shed = False
            while not shed:  # a connected client calls the API all through the flood
                assert time.monotonic() < deadline, "the server did not shed the flood"
                assert client.get("/api/v1/namespaces/default").status_code == 200
                assert open_descriptors() <= baseline + held(bound)
                shed = bool(select.select([flood.stdout], [], [], 0)[0])
            assert int(flood.stdout.readline()) >= count - bound
            for _ in range(3):  # new clients still get in, shedding the silent handshakes
                assert fresh_call(client) == 200
                assert open_descriptors() <= baseline + held(bound)


def fresh_call(client: httpx2.Client) -> int:
    """A call on a new connection (and so a new TLS handshake), as a new client makes."""
    response = client.get("/api/v1/namespaces/default", headers={"Connection": "close"})
    return response.status_code


def held(bound: int) -> int:
    """What a flood may hold at most: the handshakes kept, and those shed in the loop's
    last two turns, whose sockets are closed by the next (the cancelled handshake
    closes its transport, the transport its socket): not one per connection."""
    return 3 * bound


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def refused(api: RunningApi) -> bool:
    """Whether the server closes a new connection, in its handshake or just after."""
    with ExitStack() as stack:
        try:
            connection = idle_client(api, stack)
        except (ssl.SSLError, ConnectionError):
            return True
        return closed_by_server(connection, timeout=10)


def answers(client: httpx2.Client) -> bool:
    try:
        return client.get("/api/v1/namespaces/default").status_code == 200
    except httpx2.TransportError:
        return False
