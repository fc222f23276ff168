"""One side of an HTTP/2 relay: an ``h2`` connection state machine over a transport,
with the data it may not send yet.

HTTP/2 flow control is per stream and per connection, and the relay honours both ways
without buffering beyond a window: data read from one side is acknowledged (its window
reopened) only once the other side's window took it. So a slow reader on either side
stops the writer on the other, as pausing reads does on the HTTP/1.1 path, and the
gateway holds at most a window (64 KiB by default) per stream.

Both the client's connection (:mod:`.h2c`) and the instance's (:mod:`.h2upstream`)
are a :class:`Peer`; they differ only in the events they act on.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.exceptions import H2Error

from unkai.platform.gateway.headers import Headers


def configuration(*, client_side: bool) -> H2Configuration:
    """``h2``'s settings for one side of the relay. Headers sent were validated as they
    came in on the other side (inbound validation stays on) or are the gateway's own,
    so they are not checked again on the way out (that was a fifth of the relay's time
    in a profile); they stay bytes (no decoding)."""
    return H2Configuration(
        client_side=client_side,
        header_encoding=None,
        validate_outbound_headers=False,
        normalize_outbound_headers=False,
    )


Acknowledge = Callable[[int], None]
"""Reopens the source's window by that many bytes, once they went on."""


@dataclass(slots=True)
class Outgoing:
    """A stream's data waiting for window, and how it ends once sent: with
    ``end_stream``, or with ``trailers``."""

    acknowledge: Acknowledge
    chunks: deque[bytes] = field(default_factory=deque)
    ending: bool = False
    trailers: Headers | None = None


class Peer(asyncio.Protocol):
    """An HTTP/2 connection and the data queued on it, stream by stream."""

    def __init__(self, connection: H2Connection) -> None:
        self.h2 = connection
        self.transport: asyncio.Transport | None = None
        self.outgoing: dict[int, Outgoing] = {}
        self.loop = asyncio.get_running_loop()
        self._write_due = False
        self._due: set[int] = set()  # streams with data or an end to send at the write

    def send_headers(self, stream_id: int, headers: Headers, *, end: bool = False) -> None:
        self.h2.send_headers(stream_id, headers, end_stream=end)
        self.write()

    def send_data(self, stream_id: int, data: bytes, acknowledge: Acknowledge) -> None:
        """Queue ``data``; ``acknowledge(n)`` runs as its bytes are sent."""
        outgoing = self.outgoing.get(stream_id)
        if outgoing is None:
            outgoing = self.outgoing[stream_id] = Outgoing(acknowledge)
        outgoing.chunks.append(data)
        self._due.add(stream_id)
        self.write()

    def end(self, stream_id: int, trailers: Headers | None = None) -> None:
        """End the stream after the data queued on it (with ``trailers``, if any)."""
        outgoing = self.outgoing.get(stream_id)
        if outgoing is None:
            outgoing = self.outgoing[stream_id] = Outgoing(lambda _: None)
        outgoing.ending, outgoing.trailers = True, trailers
        self._due.add(stream_id)
        self.write()

    def reset(self, stream_id: int, code: int = ErrorCodes.CANCEL) -> None:
        """Drop what is queued and reset the stream (if it is still open)."""
        self.outgoing.pop(stream_id, None)
        try:
            self.h2.reset_stream(stream_id, code)
        except H2Error:
            return  # already closed: nothing to reset
        self.write()

    def flush(self, stream_id: int | None = None) -> None:
        """Send what the windows allow at the write, of one stream or (after a
        connection-level window update) of all."""
        if stream_id is None:
            self._due.update(self.outgoing)
        else:
            self._due.add(stream_id)
        self.write()

    def acknowledge(self, stream_id: int, count: int) -> None:
        """Reopen this side's receive window by ``count`` bytes, passed on."""
        if count and self.transport is not None and not self.transport.is_closing():
            self.h2.acknowledge_received_data(count, stream_id)
            self.write()

    def write(self) -> None:
        """Send what is queued, once per turn of the event loop: a gRPC call is a
        handful of frames each way, and one write for all of them is one system call
        instead of one per frame (a third as many writes, profiled: 8.8k instead of
        28.7k for 1,200 calls). Data is framed then too, so a stream's end rides on its
        last DATA frame rather than an empty one of its own."""
        if not self._write_due:
            self._write_due = True
            self.loop.call_soon(self._write_now)

    def _write_now(self) -> None:
        self._write_due = False
        if self._due:
            due, self._due = self._due, set()
            outgoing = self.outgoing
            for sid in due:
                queued = outgoing.get(sid)
                if queued is not None and self._send(sid, queued):
                    del outgoing[sid]
        data = self.h2.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _send(self, stream_id: int, outgoing: Outgoing) -> bool:
        """Send queued data within the window; ``True`` when all is sent (and ended)."""
        h2, chunks = self.h2, outgoing.chunks
        try:
            while chunks:
                room = min(h2.local_flow_control_window(stream_id), h2.max_outbound_frame_size)
                if room <= 0:
                    return False
                chunk = chunks.popleft()
                if len(chunk) > room:
                    chunks.appendleft(chunk[room:])
                    chunk = chunk[:room]
                last = not chunks and outgoing.ending and outgoing.trailers is None
                h2.send_data(stream_id, chunk, end_stream=last)
                outgoing.acknowledge(len(chunk))
                if last:
                    return True
            if not outgoing.ending:
                return False
            if outgoing.trailers is not None:
                h2.send_headers(stream_id, outgoing.trailers, end_stream=True)
            else:
                h2.end_stream(stream_id)
        except H2Error:
            pass  # the stream closed meanwhile (reset by the peer): drop what was left
        return True


GOAWAY: Final = 0x7
FRAME_HEAD: Final = 9


class GoAwaySplitter:
    """Takes the GOAWAY frames out of the bytes a peer sends, before ``h2`` reads them.

    A GOAWAY ends only the streams after the last one it names; the others finish
    (RFC 9113 §6.8). ``h2`` (4.4) closes its whole state machine on receiving one and
    takes no frame after it as valid, not even those of the streams the peer
    promised to finish (python-hyper/h2#1199, open), so the relay reads frame heads
    itself (9 bytes: length, type, flags, stream) and lets ``h2`` see everything
    else. Frames are skipped by their length, so the cost is one head read per frame.
    """

    __slots__ = ("_held", "_left")

    def __init__(self) -> None:
        self._left = 0  # bytes of the current frame still to come
        self._held = b""  # an unfinished frame head, or an unfinished GOAWAY

    def split(self, data: bytes) -> tuple[bytes, list[tuple[int, int]]]:
        """What of ``data`` goes to ``h2``, and each GOAWAY's last stream id and error
        code, in order."""
        if self._held:
            data, self._held = self._held + data, b""
        at, size = self._left, len(data)
        if at >= size:
            self._left = at - size
            return data, []
        kept: list[bytes] = []
        goaways: list[tuple[int, int]] = []
        start = 0
        while at + FRAME_HEAD <= size:
            end = at + FRAME_HEAD + int.from_bytes(data[at : at + 3], "big")
            if data[at + 3] == GOAWAY and end - at >= FRAME_HEAD + 8:  # else h2 refuses it
                if end > size:
                    break  # held until it is whole
                last = int.from_bytes(data[at + 9 : at + 13], "big") & 0x7FFF_FFFF
                goaways.append((last, int.from_bytes(data[at + 13 : at + 17], "big")))
                kept.append(data[start:at])
                start = end
            at = end
        if at < size:
            self._held, self._left = data[at:], 0
            kept.append(data[start:at])
        else:
            self._left = at - size
            if not kept:
                return data, goaways
            kept.append(data[start:])
        return b"".join(kept), goaways
