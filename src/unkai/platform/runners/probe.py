"""Readiness probing, as aggressive as queue-proxy's: try again every 10 ms until ready.

An HTTP probe is a bare ``GET`` over a fresh connection whose status line is all that is
read, so a try costs well under a millisecond; a 200 is ready, anything else (refused,
503 while starting or draining) is not yet. A TCP probe is ready once a connection is
accepted. With the fork-server the listening socket exists before the instance does, so
the first try simply waits in the accept queue and is answered the moment the instance
serves: the generous per-try timeout is what lets it wait instead of giving up.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Final

INTERVAL: Final = 0.01
TRY_TIMEOUT: Final = 1.0


async def until_ready(
    port: int,
    path: str | None,
    *,
    host: str = "127.0.0.1",
    unix: Path | None = None,
    interval: float = INTERVAL,
) -> None:
    """Return once the instance on ``host:port`` is ready (``path`` ``None``: a connection
    probe); through the Unix socket ``unix`` instead when given, the way the gateway
    reaches the instance. The caller bounds the wait."""
    while True:
        if await ready(port, path, host=host, unix=unix):
            return
        await asyncio.sleep(interval)


async def ready(
    port: int, path: str | None, *, host: str = "127.0.0.1", unix: Path | None = None
) -> bool:
    """One probe: is the instance ready now?"""
    try:
        async with asyncio.timeout(TRY_TIMEOUT):
            if unix is not None:
                reader, writer = await asyncio.open_unix_connection(unix)
            else:
                reader, writer = await asyncio.open_connection(host, port)
            try:
                if path is None:
                    return True
                request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                writer.write(
                    f"{request}User-Agent: unkai-probe\r\nConnection: close\r\n\r\n".encode()
                )
                status_line = await reader.readline()
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    except (OSError, TimeoutError):
        return False
    parts = status_line.split()
    return len(parts) >= 2 and parts[1] == b"200"
