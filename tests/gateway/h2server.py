"""An h2c instance that shows what reached it: a plain HTTP/2 server on the ``h2`` state
machine, run on its own event loop in a thread, on a loopback port.

Every request is answered by its path:

* ``/echo`` (any other path too): 200, ``content-type: application/json``, no
  ``content-length``, a body saying what arrived: the header block as received
  (pseudo-headers included, in order) and the request body's size and SHA-256;
* ``/trailers``: 200, body ``done``, then trailers ``grpc-status: 0``;
* ``/stall``: 200 and a first chunk, then nothing until the client gives up;
* ``/held``: nothing until :meth:`H2Server.release` is called, then 200 ``released``;
* ``/goaway``: the first time, GOAWAY naming the stream before it as the last one
  taken, and no answer (this stream and any later one on the connection were not
  acted on); the streams up to it are still answered. Then as ``/echo``.

The echo says which connection (its index in :attr:`H2Server.connections`) it came on.
"""

import asyncio
import hashlib
import json
import threading

import h2.config
import h2.connection
import h2.events
from hyperframe.frame import GoAwayFrame


class _Connection(asyncio.Protocol):
    def __init__(self, server: "H2Server") -> None:
        self.server = server
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        self.transport: asyncio.Transport | None = None
        self.requests: dict[int, tuple[list[tuple[bytes, bytes]], bytearray]] = {}
        self.last_stream: int | None = None  # named in the GOAWAY sent, if one was
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server.connections.append(self)
        self.h2.initiate_connection()
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True

    def data_received(self, data: bytes) -> None:
        for event in self.h2.receive_data(data):
            stream_id = getattr(event, "stream_id", 0)
            if self.last_stream is not None and stream_id > self.last_stream:
                continue  # after the GOAWAY's last stream: not acted on
            if isinstance(event, h2.events.RequestReceived):
                self.requests[event.stream_id] = (list(event.headers), bytearray())
            elif isinstance(event, h2.events.DataReceived):
                self.requests[event.stream_id][1].extend(event.data)
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                self._answer(event.stream_id)
            elif isinstance(event, h2.events.StreamReset):
                self.server.resets.append(event.stream_id)
        self._flush()

    def _answer(self, stream_id: int) -> None:
        headers, body = self.requests.pop(stream_id)
        path = dict(headers)[b":path"].decode()
        if path == "/trailers":
            self.h2.send_headers(stream_id, [(":status", "200")])
            self.h2.send_data(stream_id, b"done")
            self.h2.send_headers(stream_id, [("grpc-status", "0")], end_stream=True)
        elif path == "/stall":
            self.h2.send_headers(stream_id, [(":status", "200")])
            self.h2.send_data(stream_id, b"first")
        elif path == "/held":
            self.server.held.append((self, stream_id))
        elif path == "/goaway" and not self.server.went_away:
            # Written as a frame: h2 refuses to send anything after a GOAWAY of its own.
            self.server.went_away, self.last_stream = True, max(stream_id - 2, 0)
            self._flush()
            assert self.transport is not None
            self.transport.write(GoAwayFrame(0, last_stream_id=self.last_stream).serialize())
        else:
            seen = {
                "headers": [[name.decode(), value.decode()] for name, value in headers],
                "size": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
                "connection": self.server.connections.index(self),
            }
            self.h2.send_headers(
                stream_id, [(":status", "200"), ("content-type", "application/json")]
            )
            self.h2.send_data(stream_id, json.dumps(seen).encode(), end_stream=True)

    def _flush(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(self.h2.data_to_send())


class H2Server:
    """The server, started on construction; :meth:`close` stops it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.held: list[tuple[_Connection, int]] = []
        self.resets: list[int] = []  # stream ids the gateway reset
        self.connections: list[_Connection] = []
        self.went_away = False  # a /goaway request was refused
        self._server = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        self.port: int = self._server.sockets[0].getsockname()[1]

    async def _start(self) -> asyncio.Server:
        return await self.loop.create_server(lambda: _Connection(self), "127.0.0.1", 0)

    def release(self) -> None:
        """Answer every ``/held`` request so far."""

        def answer() -> None:
            held, self.held = self.held, []
            for connection, stream_id in held:
                connection.h2.send_headers(stream_id, [(":status", "200")])
                connection.h2.send_data(stream_id, b"released", end_stream=True)
                connection._flush()

        self.loop.call_soon_threadsafe(answer)

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            for connection in self.connections:
                if connection.transport is not None:
                    connection.transport.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
