"""Warm a prepared function's request path in a fork-server, before it forks.

A forked instance shares its zygote's memory until it writes to it. CPython 3.11
rewrites a function's bytecode in place the first times it runs (it *quickens* it
after a few calls, then specialises each instruction for the types it meets), and the
garbage collector writes to the header of every object it visits. So a child whose
first request is also the first ever through uvicorn's protocol and the runtime's ASGI
plumbing pays for specialising that code and copies the pages it sits on, per child,
while the request waits. :func:`warm` runs those paths in the zygote instead, with a
few readiness probes over a socket pair on a loop of its own (the one the
instances use, uvloop), then collects garbage: the zygote's ``gc.freeze()`` that
follows leaves each child with empty generations and nothing old to scan, so its first
requests start no full collection.

The function itself is not called: the probe is answered by the runtime ("starting",
503) since no function has started in the zygote. The loop is closed afterwards, so
the zygote forks with no loop and no thread, as it must.
"""

from __future__ import annotations

import asyncio
import gc
import socket
from typing import Final

import uvicorn
from uvicorn.server import ServerState

from unkai.runtime.app import READINESS
from unkai.runtime.grpcserve import PreparedGrpc
from unkai.runtime.server import Prepared

ROUNDS: Final = 20
"""Requests run: above CPython 3.11's quickening delay (8 calls), with room for the
specialised instructions to settle."""

_REQUEST: Final = f"GET {READINESS} HTTP/1.1\r\nHost: zygote\r\n\r\n".encode()


def warm(prepared: Prepared | PreparedGrpc, *, rounds: int = ROUNDS) -> int | None:
    """Run ``rounds`` requests through the prepared server's protocol and app, on a
    loop made and closed here; the status of the last (503 while no function has
    started). A gRPC function is served by grpcio's C core, with no Python request
    path of ours to warm: ``None``."""
    if isinstance(prepared, PreparedGrpc):
        return None
    config = prepared.config
    factory = config.get_loop_factory() or asyncio.new_event_loop
    loop = factory()
    try:
        status = loop.run_until_complete(_requests(config, rounds))
    finally:
        loop.close()
    gc.collect()
    return status


async def _requests(config: uvicorn.Config, rounds: int) -> int:
    loop = asyncio.get_running_loop()
    served, client = socket.socketpair()
    state = ServerState()

    def protocol() -> asyncio.Protocol:
        made: asyncio.Protocol = config.http_protocol_class(  # type: ignore[call-arg]
            config=config, server_state=state, app_state={}, _loop=loop
        )
        return made

    transport, _ = await loop.connect_accepted_socket(protocol, sock=served)
    reader, writer = await asyncio.open_connection(sock=client)
    status = 0
    try:
        for _ in range(rounds):
            writer.write(_REQUEST)
            status = await _response(reader)
    finally:
        writer.close()
        transport.close()
        # uvicorn's protocol has no event for its end: it leaves ``connections`` once it
        # has heard the close, a turn or two of the loop from now.
        while state.connections:  # noqa: ASYNC110
            await asyncio.sleep(0)
    return status


async def _response(reader: asyncio.StreamReader) -> int:
    """Read one response (uvicorn frames it with ``content-length``); its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(lines[0].split()[1])
