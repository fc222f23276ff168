"""The gateway's HTTP/2 cleartext connection to an ``h2c`` instance.

One per client connection and instance, opened when the first of the client's streams
is placed on that instance and closed with the client's connection: a gRPC client
keeps one connection and multiplexes its calls over it, so the gateway does the same
towards the instance, and a stream's whole life (headers, data both ways, trailers,
resets) maps onto one upstream stream.

An instance that stops (or limits its connections' age) sends GOAWAY naming the last
stream it took. The streams up to it finish on this connection; the later ones were
not acted on, so each is told it was :meth:`~Relayed.refused` and may go again on a
new connection; no new stream is placed here (``broken``), and the connection closes
when its last stream ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final, Protocol

from h2.connection import H2Connection
from h2.events import (
    DataReceived,
    Event,
    ResponseReceived,
    StreamEnded,
    StreamReset,
    TrailersReceived,
    WindowUpdated,
)
from h2.exceptions import H2Error

from unkai.platform.gateway.h2peer import GoAwaySplitter, Peer, configuration
from unkai.platform.gateway.headers import Headers
from unkai.platform.gateway.settings import Endpoint


class Relayed(Protocol):
    """What the upstream connection needs of a relayed stream (``h2c.H2Exchange``)."""

    def opened(self, upstream: H2Upstream) -> None:
        """The connection is up: the stream may be sent."""

    def response_head(self, headers: Headers, *, end: bool) -> None:
        """The response's head (``end``: it has no body, as gRPC's trailers-only)."""

    def response_data(self, data: bytes, flow: int) -> None:
        """``data`` arrived, which took ``flow`` bytes of window (padding included)."""

    def response_end(self, trailers: Headers | None) -> None: ...

    def upstream_failed(self, reason: str, code: int | None) -> None:
        """The instance reset the stream (``code``) or the connection failed (``None``)."""

    def refused(self) -> None:
        """The instance did not act on the stream (its GOAWAY named an earlier one):
        safe to send again, on another connection."""


REPLAY_LIMIT: Final = 64 * 1024
"""Request data kept per stream to send again if the instance refuses it: HTTP/2's
default window, about what the relay holds per stream anyway."""


class Replay:
    """A stream's request data as sent to the instance, kept while the instance may
    still refuse the stream (until its response starts), so that it can go again on
    another connection; past :data:`REPLAY_LIMIT` it is dropped, and the stream cannot."""

    __slots__ = ("chunks", "size")

    def __init__(self) -> None:
        self.chunks: list[bytes] | None = []
        self.size = 0

    def keep(self, data: bytes) -> None:
        chunks = self.chunks
        if chunks is not None:
            self.size += len(data)
            if self.size > REPLAY_LIMIT:
                self.chunks = None
            else:
                chunks.append(data)

    def stop(self) -> None:
        """The instance acted on the stream: it is never sent again."""
        self.chunks = None

    def take(self) -> list[bytes] | None:
        """What to send again (kept again as it goes), or ``None`` when it cannot."""
        chunks = self.chunks
        if chunks is not None:
            self.chunks, self.size = [], 0
        return chunks


class H2Upstream(Peer):
    """An h2c connection to one instance, carrying any number of relayed streams."""

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(H2Connection(configuration(client_side=True)))
        self.endpoint = endpoint
        self.streams: dict[int, Relayed] = {}
        self.waiting: list[Relayed] = []  # placed here while connecting
        self.ready = False
        self.broken = False  # failed, closed or going away: a new stream needs a new one
        self.goaways = GoAwaySplitter()
        # Runs after each read's events: a bridge writes what they gave its client then,
        # once per read rather than once per frame (:mod:`.h1toh2`).
        self.after_read: Callable[[], None] | None = None
        self.connecting: asyncio.Task[None] | None = None

    def open(self, limit: float) -> None:
        """Start connecting, within ``limit`` seconds."""
        self.connecting = asyncio.ensure_future(self.connect(limit))

    async def connect(self, limit: float) -> None:
        """Open the connection; every waiting stream learns how it went."""
        loop = asyncio.get_running_loop()
        endpoint = self.endpoint
        try:
            async with asyncio.timeout(limit):
                if endpoint.path is not None:
                    await loop.create_unix_connection(lambda: self, endpoint.path)
                else:
                    await loop.create_connection(lambda: self, endpoint.host, endpoint.port)
        except (OSError, TimeoutError) as error:
            self._fail_all(f"cannot connect to the instance: {error or repr(error)}")
            return
        finally:
            self.connecting = None
        if self.broken:  # it went away while the waiting streams were not yet sent
            return
        self.ready = True
        waiting, self.waiting = self.waiting, []
        for stream in waiting:
            stream.opened(self)

    def place(self, stream: Relayed) -> None:
        """Send ``stream`` here once the connection is up (at once when it is; it
        fails at once when the connection is already gone)."""
        if self.broken:
            stream.upstream_failed("the instance closed the connection", None)
        elif self.ready:
            stream.opened(self)
        else:
            self.waiting.append(stream)

    def open_stream(self, stream: Relayed, headers: Headers, *, end: bool) -> int:
        """Start ``stream`` upstream with the request's ``headers``; its stream id.
        Raises ``H2Error`` when the instance takes no more streams (its
        ``MAX_CONCURRENT_STREAMS``) or refuses the headers."""
        stream_id = self.h2.get_next_available_stream_id()
        self.send_headers(stream_id, headers, end=end)
        self.streams[stream_id] = stream
        return stream_id

    def forget(self, stream_id: int) -> None:
        """The stream is over; after GOAWAY, the last one to end closes the connection."""
        streams = self.streams
        streams.pop(stream_id, None)
        self.outgoing.pop(stream_id, None)
        if self.broken and not streams:
            self._write_now()  # its last frames (a reset, an acknowledgement) go first
            self.close()

    def close(self) -> None:
        self.waiting = []
        if self.connecting is not None:
            self.connecting.cancel()
        if self.transport is not None:
            self.transport.close()

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        self.h2.initiate_connection()
        self.write()

    def data_received(self, data: bytes) -> None:
        data, goaways = self.goaways.split(data)
        try:
            events = self.h2.receive_data(data) if data else []
        except H2Error as error:
            self._write_now()  # the GOAWAY h2 queued, before the close
            self._fail_all(f"the instance broke HTTP/2: {error}")
            self.close()
            return
        for event in events:
            self._event(event)
        for last, code in goaways:
            self._going_away(last, code)
        if self.after_read is not None:
            self.after_read()
        self.write()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail_all("the instance closed the connection")

    # helpers

    def _event(self, event: Event) -> None:
        if isinstance(event, WindowUpdated):
            self.flush(event.stream_id or None)
            return
        stream_id = getattr(event, "stream_id", 0)
        stream = self.streams.get(stream_id)
        if stream is None:
            if isinstance(event, DataReceived):  # a stream given up: its window reopens
                self.acknowledge(stream_id, event.flow_controlled_length)
            return
        if isinstance(event, ResponseReceived):
            end = event.stream_ended is not None
            if end:
                self.forget(stream_id)
            stream.response_head(event.headers, end=end)
        elif isinstance(event, DataReceived):
            stream.response_data(event.data, event.flow_controlled_length)
        elif isinstance(event, TrailersReceived):
            self.forget(stream_id)
            stream.response_end(event.headers)
        elif isinstance(event, StreamEnded):
            self.forget(stream_id)
            stream.response_end(None)
        elif isinstance(event, StreamReset):
            self.forget(stream_id)
            stream.upstream_failed("the instance reset the stream", int(event.error_code or 0))

    def _going_away(self, last: int, code: int) -> None:
        """GOAWAY(``last``, ``code``): streams after ``last`` are refused (not acted on),
        the others go on; nothing new comes here."""
        self.broken = True
        refused = [*self.waiting, *(s for sid, s in self.streams.items() if sid > last)]
        self.waiting = []
        for sid in [sid for sid in self.streams if sid > last]:
            del self.streams[sid]
            self.outgoing.pop(sid, None)
        for stream in refused:
            stream.refused()
        if not self.streams:
            self.close()

    def _fail_all(self, reason: str) -> None:
        self.broken, self.ready = True, False
        streams = [*self.waiting, *self.streams.values()]
        self.waiting, self.streams = [], {}
        self.outgoing.clear()
        for stream in streams:
            stream.upstream_failed(reason, None)
