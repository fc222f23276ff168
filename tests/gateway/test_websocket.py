"""WebSocket upgrades pass through: the 101 comes back, then frames flow both ways.

The client is wsproto's (the WebSocket state machine uvicorn itself uses) on a raw
socket, so the handshake and frames are checked byte for byte, not by the gateway's
own code.
"""

import socket
from collections.abc import Callable

from tests.gateway.conftest import NS, RunningGateway, wait_for
from tests.gateway.upstreams import Upstream
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Event,
    Message,
    Request,
    TextMessage,
)

from unkai.platform.contracts import RevisionKey


def events(sock: socket.socket, ws: WSConnection, wanted: type[Event]) -> list[Event]:
    """Read until an event of type ``wanted`` arrives; everything seen until then."""
    seen: list[Event] = []
    while not any(isinstance(event, wanted) for event in seen):
        data = sock.recv(65536)
        assert data, seen
        ws.receive_data(data)
        seen += ws.events()
    return seen


def test_websocket_echo_through_the_gateway(
    gw: RunningGateway, upstream: Callable[..., Upstream]
) -> None:
    gw.endpoints("hello-00001", upstream("websocket", "echo"))
    host = gw.route("hello", {"hello-00001": 100})
    stats = gw.call(gw.gateway.stats, RevisionKey(NS, "hello-00001"))
    assert stats is not None
    ws = WSConnection(ConnectionType.CLIENT)
    with socket.create_connection(("127.0.0.1", gw.gateway.port)) as sock:
        sock.sendall(ws.send(Request(host=host, target="/ws")))
        assert isinstance(events(sock, ws, AcceptConnection)[0], AcceptConnection)
        for text in ("one", "two" * 10_000):
            sock.sendall(ws.send(Message(data=text)))
            received = [e for e in events(sock, ws, TextMessage) if isinstance(e, TextMessage)]
            assert [event.data for event in received] == [f"echo: {text}"]
        assert stats.in_flight == 1  # a WebSocket holds its slot while open
        sock.sendall(ws.send(CloseConnection(code=1000)))
        events(sock, ws, CloseConnection)
    wait_for(lambda: stats.in_flight == 0)
    assert stats.codes[1] == 1  # counted once, as 1xx
