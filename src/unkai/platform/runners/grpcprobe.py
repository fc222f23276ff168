"""One try of a ``grpc`` probe: the standard gRPC health check, as the kubelet calls it.

The kubelet calls ``grpc.health.v1.Health/Check`` with the probe's ``service`` and
passes when the answer is ``SERVING``. The call is one HTTP/2 (cleartext, prior
knowledge) request whose two messages are a single string or enum field each, so it is
spoken here with ``h2`` and a few lines of protobuf rather than with grpcio, whose
threads and event-loop integration the platform would carry for a probe.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from pathlib import Path
from typing import Final

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import (
    DataReceived,
    ResponseReceived,
    StreamEnded,
    StreamReset,
    TrailersReceived,
)

PATH: Final = "/grpc.health.v1.Health/Check"
STATUSES: Final = ("UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN")
SERVING: Final = 1


async def check(
    service: str, *, host: str, port: int, unix: Path | None = None
) -> tuple[bool, str]:
    """Ask the health service; whether it answered ``SERVING``, and if not, why."""
    if unix is not None:
        reader, writer = await asyncio.open_unix_connection(unix)
    else:
        reader, writer = await asyncio.open_connection(host, port)
    try:
        status, message, body = await _call(reader, writer, service, f"{host}:{port}")
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    if status != "0":
        return False, f"rpc error: code = {status or 'none'} desc = {message}"
    serving = _status(body)
    if serving == SERVING:
        return True, ""
    name = STATUSES[serving] if 0 <= serving < len(STATUSES) else str(serving)
    return False, f'service unhealthy (responded with "{name}")'


async def _call(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, service: str, authority: str
) -> tuple[str, str, bytes]:
    """The call's ``grpc-status``, ``grpc-message`` and response body."""
    connection = H2Connection(H2Configuration(client_side=True, header_encoding="utf-8"))
    connection.initiate_connection()
    stream = connection.get_next_available_stream_id()
    connection.send_headers(
        stream,
        [
            (":method", "POST"), (":scheme", "http"), (":path", PATH),
            (":authority", authority), ("content-type", "application/grpc"),
            ("te", "trailers"), ("user-agent", "kube-probe/unkai"),
        ],
    )  # fmt: skip
    message = _string_field(1, service)
    connection.send_data(stream, struct.pack(">BI", 0, len(message)) + message, end_stream=True)
    writer.write(connection.data_to_send())
    headers: dict[str, str] = {}
    body = bytearray()
    while True:
        data = await reader.read(65536)
        if not data:
            break
        for event in connection.receive_data(data):
            if isinstance(event, ResponseReceived | TrailersReceived):
                headers.update((str(k), str(v)) for k, v in event.headers)
            elif isinstance(event, DataReceived):
                body += event.data
                connection.acknowledge_received_data(event.flow_controlled_length, stream)
            elif isinstance(event, StreamReset):
                return "", f"stream reset (error code {event.error_code})", b""
            elif isinstance(event, StreamEnded):
                return headers.get("grpc-status", ""), headers.get("grpc-message", ""), bytes(body)
        writer.write(connection.data_to_send())
    return "", "connection closed before the answer", b""


def _string_field(number: int, value: str) -> bytes:
    """A protobuf length-delimited field (empty strings are left out, as proto3 does)."""
    data = value.encode()
    return bytes([number << 3 | 2]) + _varint(len(data)) + data if data else b""


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _status(body: bytes) -> int:
    """Field 1 (the status enum) of the one length-prefixed HealthCheckResponse; 0
    (UNKNOWN) when absent."""
    message, position = body[5:], 0
    while position < len(message):
        key, position = _read_varint(message, position)
        wire = key & 7
        if wire == 0:
            value, position = _read_varint(message, position)
            if key >> 3 == 1:
                return value
        elif wire == 2:
            length, position = _read_varint(message, position)
            position += length
        else:  # no other wire type occurs in this message
            break
    return 0


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while position < len(data):
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return value, position
