"""Upgraded connections (WebSocket): after the instance answers 101, splice bytes.

From then on the gateway is a pipe: bytes go both ways unchanged, with the same flow
control as bodies (a side that cannot keep up pauses reading on the other), and when
either side closes, both close. The exchange stays in flight until then, so a
WebSocket holds a concurrency slot and keeps its instance from draining, as a
hijacked connection does behind Knative's queue-proxy. No timeout applies once
switched: a quiet WebSocket is not an idle response.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Tunnel:
    """Both transports of a switched exchange; ``on_close`` runs once, at the end."""

    __slots__ = ("_client", "_instance", "_on_close")

    def __init__(
        self,
        client: asyncio.Transport,
        instance: asyncio.Transport,
        on_close: Callable[[], None],
    ) -> None:
        self._client = client
        self._instance = instance
        self._on_close: Callable[[], None] | None = on_close

    def from_client(self, data: bytes) -> None:
        self._instance.write(data)

    def from_instance(self, data: bytes) -> None:
        self._client.write(data)

    def closed(self) -> None:
        """Either side went away: close the other (after its pending writes)."""
        on_close, self._on_close = self._on_close, None
        if on_close is None:
            return
        self._client.close()
        self._instance.close()
        on_close()
