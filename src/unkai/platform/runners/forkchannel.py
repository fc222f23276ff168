"""The platform's side of a forking loop (``forkloop``): a zygote's or a base zygote's.

Both are started the same way — an interpreter running the loop's module, possibly
through the sandbox's command, handed one end of a Unix socket pair for JSON lines and
one of a datagram pair for file descriptors, its output appended to a log — and both
are then held the same way: their events read line by line until the channel closes,
and closed by half-closing the channel (the loop reports what is left, then exits),
killed if it does not exit in time. What each asks and hears is its own
(``forkserver``, ``bases``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from unkai.platform.runners import control

FDS_TIMEOUT: Final = 5.0
"""How long handing descriptors to a loop may take (a tiny datagram into an idle socket:
no wait in practice)."""


class Process(Protocol):
    """A loop's process as the platform holds it: its own child, or a base zygote's."""

    def kill(self) -> None: ...

    async def wait(self) -> int: ...


@dataclass(frozen=True)
class Spawned:
    """A loop just started: its process, the platform's ends of its two channels, and
    where its log stood before it (what it writes from then on is its own)."""

    process: asyncio.subprocess.Process
    channel: socket.socket
    fds: socket.socket
    since: int


async def spawn(
    module: str,
    args: list[str],
    *,
    env: dict[str, str],
    log_path: Path,
    wrap: Callable[[list[str]], list[str]] | None,
    cwd: str | None = None,
) -> Spawned:
    """``python -m module --control-fd N --fd-channel M *args`` in a session of its own,
    through ``wrap`` (the sandbox's command) when given."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    fds_ours, fds_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    fds_ours.settimeout(FDS_TIMEOUT)
    argv = [sys.executable, "-m", module]
    argv += ["--control-fd", str(theirs.fileno()), "--fd-channel", str(fds_theirs.fileno())]
    argv += args
    try:
        with theirs, fds_theirs, log_path.open("ab") as log:
            since = log.tell()  # a revision's log: earlier attempts precede
            process = await asyncio.create_subprocess_exec(
                *(argv if wrap is None else wrap(argv)), env=env,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
                pass_fds=(theirs.fileno(), fds_theirs.fileno()), start_new_session=True,
                cwd=cwd,
            )  # fmt: skip
    except BaseException:
        ours.close()
        fds_ours.close()
        raise
    return Spawned(process, ours, fds_ours, since)


class ForkChannel:
    """A running loop's channels and its events, read until the channel closes."""

    def __init__(
        self,
        process: Process,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        fds: socket.socket,
    ) -> None:
        self.process = process
        self._reader = reader
        self._writer = writer
        self._fds = fds
        self._events = asyncio.ensure_future(self._read_events())

    @property
    def alive(self) -> bool:
        return not self._events.done()

    async def _close(self, grace: float) -> None:
        """Half-close the channel: the loop still reports what ends, then exits; killed
        after ``grace`` seconds."""
        if self.alive:
            self._writer.write_eof()
        try:
            async with asyncio.timeout(grace):
                await self.process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
        await self._events

    async def _read_events(self) -> None:
        try:
            while line := await self._reader.readline():
                self._dispatch(json.loads(line))
        except (ConnectionError, ValueError):
            pass  # a broken channel ends like a closed one
        finally:
            self._lost()

    def _dispatch(self, event: control.Message) -> None:
        raise NotImplementedError

    def _lost(self) -> None:
        """The loop is gone (subclasses then fail or end what waited on it)."""
        self._writer.close()
        self._fds.close()
