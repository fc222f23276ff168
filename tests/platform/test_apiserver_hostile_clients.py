"""The API server against clients that open connections and send nothing (issue 13,
items 2 and 4): they are closed once the TLS handshake or the first head is overdue,
and beyond the connection cap a new one is closed at once, while an authenticated call
still succeeds.

Real HTTPS on loopback: the idle clients complete the TLS handshake (so they reach the
HTTP protocol) and then say nothing.
"""

import socket
import ssl
import time
from contextlib import ExitStack, suppress

import httpx2
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
        assert closed_by_server(idle_client(api, stack), timeout=10)  # the cap, not the timer
        for connection in silent:
            connection.close()
        with api.client() as client:  # room again once the server has let go of them
            deadline = time.monotonic() + 10
            while not answers(client):
                assert time.monotonic() < deadline, "no room made for a new connection"
                time.sleep(0.05)


def answers(client: httpx2.Client) -> bool:
    try:
        return client.get("/api/v1/namespaces/default").status_code == 200
    except httpx2.TransportError:
        return False
