"""The API port's accept loop: every connection is counted from the moment it is
accepted, TLS handshake included (issue 13, item 2).

asyncio's own server (``loop.create_server``) hands a connection to the HTTP protocol
only once its TLS handshake is done, so until then no cap sees it: a local flood of
silent TCP connections would hold one file descriptor each for the whole handshake
deadline, and the API shares its process's file limit with the gateway. Here the
listening socket is accepted on directly, and each accepted socket is given to
``loop.connect_accepted_socket`` (asyncio and uvloop alike) with the TLS context and
the handshake deadline, so the listener knows which connections are still in their
handshake and can bound them. Starting TLS on a plain transport later (``start_tls``)
is not used: bytes decrypted before uvicorn's protocol was attached could reach it
half set up.
"""

from __future__ import annotations

import asyncio
import enum
import errno
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("unkai.apiserver")

ACCEPT_RETRY_SECONDS = 1.0
"""How long accepting pauses when the process is out of file descriptors or memory, as
asyncio's own server pauses (``asyncio.constants.ACCEPT_RETRY_DELAY``): retrying at
once would spin while nothing has been freed."""
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class Admission(enum.Enum):
    """What to do with a connection just accepted."""

    ADMIT = "admit"
    SHED_OLDEST = "shed the oldest handshake, then admit"
    REFUSE = "refuse"


def admit(
    *, handshaking: int, established: int, max_handshakes: int, max_connections: int
) -> Admission:
    """Decide on a new connection. A full server refuses it (its established clients
    keep their connections); a full handshake bound sheds the oldest handshake instead,
    because a real client finishes its handshake in milliseconds while a silent one
    waits out the deadline, so the oldest is the likeliest to be silent and a new
    client still gets in during a flood."""
    if handshaking + established >= max_connections:
        return Admission.REFUSE
    if handshaking >= max_handshakes:
        return Admission.SHED_OLDEST
    return Admission.ADMIT


@dataclass(eq=False)
class _Handshake:
    sock: socket.socket
    task: asyncio.Task[None] | None = None
    started: bool = False
    """Whether the task has run: from then on the transport owns ``sock`` and closes
    it when the task is cancelled; before, cancelling never runs the task's body."""


@dataclass(eq=False)
class Listener:
    """Accepts on ``sock`` (bound, not yet listening) until :meth:`close`.

    ``established`` counts the connections past their handshake that are still open
    (uvicorn's ``server_state.connections``: a connection leaves it when its socket is
    closed), so the total held by the API is bounded by ``max_connections``.
    """

    sock: socket.socket
    protocol_factory: Callable[[], asyncio.Protocol]
    established: Callable[[], int]
    tls: ssl.SSLContext | None
    handshake_seconds: float
    max_handshakes: int
    max_connections: int
    backlog: int = 2048
    _handshakes: dict[_Handshake, None] = field(default_factory=dict)
    """Connections in their handshake, oldest first."""
    _accepting: asyncio.Task[None] | None = None
    _closing: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self.sock.setblocking(False)
        self.sock.listen(self.backlog)
        self._accepting = asyncio.create_task(self._accept(), name="unkai-apiserver-accept")

    def close(self) -> None:
        """Stop accepting and drop the connections still in their handshake."""
        if self._accepting is not None:
            self._closing.append(self._accepting)
            self._accepting.cancel()
        for handshake in list(self._handshakes):
            if handshake.task is not None:
                self._closing.append(handshake.task)
            self._shed(handshake)

    async def wait_closed(self) -> None:
        """Wait until the accept loop and the dropped handshakes have ended."""
        await asyncio.gather(*self._closing, return_exceptions=True)
        self.sock.close()  # closed already, unless the accept loop never ran

    async def _accept(self) -> None:
        """Accept until cancelled, then close the listening socket: only once the loop
        has stopped watching it, so that the loop never watches a number the process
        may already have reused."""
        try:
            await self._accept_forever()
        finally:
            self.sock.close()

    async def _accept_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(self.sock)
            except ConnectionAbortedError:
                continue  # the client went away before it was accepted
            except OSError as error:
                if error.errno not in _OUT_OF_RESOURCES:
                    log.error(
                        "API server: accepting failed, no more connections are taken: %s",
                        error,
                    )
                    raise
                log.warning(
                    "API server: cannot accept a connection (%s); pausing %.0f s",
                    error,
                    ACCEPT_RETRY_SECONDS,
                )
                await asyncio.sleep(ACCEPT_RETRY_SECONDS)
                continue
            self._take(conn)

    def _take(self, conn: socket.socket) -> None:
        decision = admit(
            handshaking=len(self._handshakes),
            established=self.established(),
            max_handshakes=self.max_handshakes,
            max_connections=self.max_connections,
        )
        if decision is Admission.REFUSE:
            conn.close()
            return
        if decision is Admission.SHED_OLDEST:
            self._shed(next(iter(self._handshakes)))
        handshake = _Handshake(conn)
        handshake.task = asyncio.create_task(self._handshake(handshake))
        self._handshakes[handshake] = None

    async def _handshake(self, handshake: _Handshake) -> None:
        handshake.started = True
        try:
            await asyncio.get_running_loop().connect_accepted_socket(
                self.protocol_factory,
                handshake.sock,
                ssl=self.tls,
                ssl_handshake_timeout=self.handshake_seconds if self.tls else None,
            )
        except Exception as error:  # the client's failure (reset, bad TLS, deadline)
            log.debug("API server: a connection ended in its TLS handshake: %r", error)
        finally:
            self._handshakes.pop(handshake, None)

    def _shed(self, handshake: _Handshake) -> None:
        self._handshakes.pop(handshake, None)
        if handshake.task is not None:
            handshake.task.cancel()
        if not handshake.started:
            handshake.sock.close()
