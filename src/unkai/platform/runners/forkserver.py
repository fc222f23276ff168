"""The platform's side of a zygote: start it, ask it to fork, hear about exits.

:meth:`ForkServer.start` spawns the zygote (see ``zygote``), possibly through a
sandbox's command, with one end of a Unix socket pair for JSON lines and one of a
datagram pair for file descriptors, and waits until it has loaded the function.
:meth:`ForkServer.fork` hands it the instance's descriptors, then returns the new
instance's pid (as the zygote sees it) and port together with a future of its exit
status and one that says, once its function has started, whether it is ready then (a
byte on its *started* pipe); the futures exist before the request is sent, so an
instance that dies at once is still heard of. If the zygote itself dies, its
instances are killed (their process groups, or the kernel does it when the zygote had
a pid namespace of its own) and their futures end with SIGKILL's status: nothing is
left running unwatched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

from unkai.platform.contracts import Reason
from unkai.platform.runners import control, logfiles
from unkai.platform.runners.base import InstanceExit, InstanceStartError, RunnerError
from unkai.platform.runners.forkchannel import ForkChannel, Process, spawn

_CLOSE_SLACK: Final = 5.0
T = TypeVar("T")


@dataclass(frozen=True)
class Forked:
    """A forked instance: ``started`` says whether it was ready when its function had
    started (``False``: probe it); it stays pending if the instance dies first."""

    pid: int
    port: int
    returncode: asyncio.Future[int]
    started: asyncio.Future[bool]


class ForkServer(ForkChannel):
    """A running zygote for one revision."""

    def __init__(
        self,
        process: Process,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        fds: socket.socket,
        *,
        grace: float,
        pid_namespace: bool,
    ) -> None:
        self._grace = grace
        self._pid_namespace = pid_namespace
        self._forks: dict[str, asyncio.Future[tuple[int, int]]] = {}
        self._exits: dict[str, asyncio.Future[int]] = {}
        self._pids: dict[str, int] = {}
        super().__init__(process, reader, writer, fds)

    @classmethod
    async def start(
        cls,
        directory: Path,
        *,
        env: dict[str, str],
        log_path: Path,
        grace: float,
        cwd: str | None = None,
        wrap: Callable[[list[str]], list[str]] | None = None,
        name: str = "",
    ) -> ForkServer:
        """A zygote that has loaded the function in ``directory``, or :class:`InstanceStartError`
        with its exit status and log when it could not; its forks inherit ``cwd``. ``wrap``
        turns the zygote's command into the sandbox's; the zygote then has its own pid
        namespace. ``name`` (``namespace/revision``) is its title in ``ps`` (default: its
        ``K_REVISION``)."""
        args = [str(directory), "--grace", str(grace)] + (["--name", name] if name else [])
        spawned = await spawn(
            "unkai.platform.runners.zygote", args, env=env, log_path=log_path, wrap=wrap, cwd=cwd
        )
        return await cls.attach(
            spawned.process, spawned.channel, spawned.fds, directory=directory,
            log_path=log_path, since=spawned.since, grace=grace, pid_namespace=wrap is not None,
        )  # fmt: skip

    @classmethod
    async def attach(
        cls,
        process: Process,
        ours: socket.socket,
        fds_ours: socket.socket,
        *,
        directory: Path,
        log_path: Path,
        since: int,
        grace: float,
        pid_namespace: bool,
    ) -> ForkServer:
        """The zygote ``process`` started (on its own, or forked from a base zygote) with
        the other ends of ``ours`` and ``fds_ours``, once it has loaded the function;
        :class:`InstanceStartError` with its exit status and its log since ``since``
        when it could not. ``pid_namespace``: its instances' pids are not ours, so they
        are never signalled from here; they die with it (the kernel ends its pid
        namespace, or their parent-death signal) and their cgroups are emptied."""
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        try:
            first = await reader.readline()
        except BaseException:  # cancelled (a start timeout): leave nothing behind
            writer.close()
            fds_ours.close()
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await asyncio.shield(process.wait())
            raise
        hello = json.loads(first) if first.strip() else {}
        if hello.get("event") != "ready":
            writer.close()
            fds_ours.close()
            # The user's file names (``func.py``), not the bundle copy's (``/…/sha256/…/func.py``)
            tail = (
                line.replace(f"{directory}/", "") for line in logfiles.tail(log_path, since=since)
            )
            ended = InstanceExit(await process.wait(), tuple(tail))
            raise InstanceStartError(ended.reason, ended.message, ended)
        return cls(process, reader, writer, fds_ours, grace=grace, pid_namespace=pid_namespace)

    async def fork(
        self,
        instance_id: str,
        *,
        log: int,
        listener: int,
        groups: Sequence[int] = (),
        tcp: bool = True,
        port: int = 0,
        name: str = "",
    ) -> Forked:
        """A new instance logging to ``log`` and serving on the Unix ``listener``, and on
        its own loopback port when ``tcp`` (otherwise ``PORT`` is ``port``), having joined
        the control groups whose ``tasks`` or ``cgroup.procs`` are open as ``groups``.
        The descriptors stay the caller's to close. ``name`` is its title in ``ps``
        (default: ``instance_id``)."""  # fmt: skip
        if not self.alive:
            raise RunnerError(Reason.FORK_FAILED, "the revision's zygote has exited")
        loop = asyncio.get_running_loop()
        forked = self._forks[instance_id] = loop.create_future()
        exited = self._exits[instance_id] = loop.create_future()
        told, tell = os.pipe()
        started = _started(told)
        fds = [log, listener, tell, *groups]
        request: control.Message = {"op": "fork", "id": instance_id, "fds": len(fds)}
        request.update(tcp=tcp, port=port, name=name or instance_id)
        try:  # a tiny datagram into an idle socket: no wait in practice, 5 s at worst
            socket.send_fds(self._fds, [b"f"], fds)
        except OSError as error:
            self._forks.pop(instance_id, None)
            self._exits.pop(instance_id, None)
            raise RunnerError(Reason.FORK_FAILED, f"cannot reach the zygote: {error}") from None
        finally:
            os.close(tell)  # the instance's copy is what counts: closed, it means gone
        await self._send(request)
        try:
            pid, port = await forked
        except BaseException:
            if self.alive:  # cancelled: a child may come anyway, and must not run unwatched
                kill = {"op": "signal", "id": instance_id, "signal": int(signal.SIGKILL)}
                self._writer.write(control.encode(kill))
            raise
        return Forked(pid, port, exited, started)

    async def signal(self, instance_id: str, signum: int) -> None:
        """Signal an instance's process group, unless it has been reaped already."""
        if instance_id in self._exits and self.alive:
            await self._send({"op": "signal", "id": instance_id, "signal": int(signum)})

    async def close(self) -> None:
        """Close the channel: the zygote stops its instances (grace, then SIGKILL), reports
        their exits, and exits."""
        await self._close(self._grace + _CLOSE_SLACK)

    async def _send(self, message: control.Message) -> None:
        if not self.alive:
            raise RunnerError(Reason.FORK_FAILED, "the revision's zygote has exited")
        self._writer.write(control.encode(message))
        await self._writer.drain()

    def _dispatch(self, event: control.Message) -> None:
        instance_id = event.get("id", "")
        kind = event["event"]
        if kind == "forked":
            self._pids[instance_id] = event["pid"]
            _settle(self._forks.pop(instance_id, None), (event["pid"], event["port"]))
        elif kind == "fork-failed":
            error = RunnerError(Reason.FORK_FAILED, f"the zygote could not fork: {event['error']}")
            self._exits.pop(instance_id, None)
            future = self._forks.pop(instance_id, None)
            if future is not None and not future.done():
                future.set_exception(error)
        elif kind == "exited":
            self._pids.pop(instance_id, None)
            _settle(self._exits.pop(instance_id, None), event["code"])

    def _lost(self) -> None:
        """The zygote is gone: kill what it left behind, fail what waits on it."""
        super()._lost()
        for pid in self._pids.values() if not self._pid_namespace else ():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        for instance_id, forked in self._forks.items():
            if not forked.done():
                lost = RunnerError(Reason.FORK_FAILED, f"zygote exited ({instance_id})")
                forked.set_exception(lost)
        for exited in self._exits.values():
            _settle(exited, -signal.SIGKILL)
        self._forks.clear()
        self._exits.clear()
        self._pids.clear()


def _started(fd: int) -> asyncio.Future[bool]:
    """Whether the instance was ready once started, from the byte on the started pipe's
    read end ``fd``; left pending at end-of-file (the instance died before it started:
    its exit status tells the rest). The descriptor is closed either way."""
    loop = asyncio.get_running_loop()
    started: asyncio.Future[bool] = loop.create_future()
    os.set_blocking(fd, False)

    def readable() -> None:
        try:
            told = os.read(fd, 1)
        except BlockingIOError:
            return
        except OSError:
            told = b""
        loop.remove_reader(fd)
        os.close(fd)
        if told and not started.done():
            started.set_result(told == control.READY)

    loop.add_reader(fd, readable)
    return started


def _settle(future: asyncio.Future[T] | None, value: T) -> None:
    if future is not None and not future.done():
        future.set_result(value)
