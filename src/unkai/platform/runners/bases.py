"""The platform's side of base zygotes: one per sandbox identity, each revision's zygote
forked from it (see ``basezygote``), or, where that cannot hold, started on its own.

:func:`own_zygote_reason` (pure) says when a revision needs a zygote of its own, as
before: a base imports the runtime from the platform's path, so requirements that
would shadow a module it has imported (another uvicorn, Starlette, pydantic…) must be
imported by an interpreter of their own; and a sandboxed fork can set up only its
bundle and requirement sites, not volumes, a private network or another working
directory. :class:`BaseServer` is one running base; :meth:`BaseServer.zygote` forks a
revision's zygote and returns the same :class:`ForkServer` a zygote started on its own
is. A base that dies takes its zygotes along (sandboxed, they are in its pid namespace;
unsandboxed, the platform kills them): their instances end, the data plane starts them
again, and the next zygote starts a new base.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import os
import signal
import socket
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from unkai.platform.contracts import Reason
from unkai.platform.runners import control, mounting
from unkai.platform.runners.base import InstanceExit, RunnerError
from unkai.platform.runners.forkchannel import FDS_TIMEOUT, ForkChannel, spawn
from unkai.platform.runners.forkserver import ForkServer
from unkai.platform.runners.sandbox import Bind, Identity, Sandbox, python_paths
from unkai.platform.runners.spec import InstanceSpec

log = logging.getLogger("unkai.runners")


def provided_modules(sites: Iterable[Path]) -> set[str]:
    """The top-level module names importable from the directories ``sites``."""
    names = set()
    for site in sites:
        with contextlib.suppress(OSError):
            for entry in site.iterdir():
                if entry.name.endswith((".dist-info", ".egg-info", ".pth")):
                    continue
                if entry.is_dir() or entry.suffix in (".py", ".so", ".pyd"):
                    names.add(entry.name.partition(".")[0])
    return names


def own_zygote_reason(
    *,
    shadowed: Iterable[str],
    sandboxed: bool,
    volumes: bool,
    private_network: bool,
    working_dir: bool,
    mounts: Sequence[Path],
    reachable: Sequence[Path],
) -> str | None:
    """Why a revision's zygote cannot be forked from its base (``None``: it can).
    ``shadowed``: modules its requirements provide that the base has imported;
    ``mounts``: what a sandboxed fork would mount, each under one of ``reachable``."""
    if names := sorted(shadowed):
        return f"its requirements replace modules the base zygote imported: {', '.join(names)}"
    if not sandboxed:
        return None
    if volumes:
        return "it mounts volumes"
    if private_network:
        return "it has a network of its own"
    if working_dir:
        return "it sets workingDir"
    if outside := [str(m) for m in mounts if not any(m.is_relative_to(r) for r in reachable)]:
        return f"the base zygote has no place to mount {', '.join(outside)}"
    return None


def _sites(env: Mapping[str, str], *, platform: Mapping[str, str]) -> list[Path]:
    """The directories ``env``'s ``PYTHONPATH`` adds to the ``platform``'s: requirements."""
    ours = set(platform.get("PYTHONPATH", "").split(os.pathsep))
    paths = env.get("PYTHONPATH", "").split(os.pathsep)
    return [Path(p) for p in paths if p and p not in ours and Path(p).exists()]


class _Forked:
    """A revision's zygote forked by a base, as :class:`ForkServer` holds a process."""

    def __init__(self, base: BaseServer, zygote_id: str) -> None:
        self._base = base
        self._id = zygote_id
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def kill(self) -> None:
        self._base.signal(self._id, signal.SIGKILL)

    async def wait(self) -> int:
        return await asyncio.shield(self.exited)


class BaseServer(ForkChannel):
    """A running base zygote."""

    process: asyncio.subprocess.Process  # its own child: its pid is the platform's to read

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        fds: socket.socket,
        *,
        modules: frozenset[str],
        sandboxed: bool,
    ) -> None:
        self.modules = modules
        self._sandboxed = sandboxed
        self._zygotes: dict[str, _Forked] = {}
        self._pids: dict[str, int] = {}
        self._forks: dict[str, asyncio.Future[int]] = {}
        super().__init__(process, reader, writer, fds)

    @classmethod
    async def start(
        cls,
        *,
        env: dict[str, str],
        log_path: Path,
        wrap: Callable[[list[str]], list[str]] | None,
        seccomp: bool,
    ) -> BaseServer:
        """A base that has imported the runtime; ``wrap`` is the sandbox's command (then
        its forks set up their own mounts, and load the seccomp filter when ``seccomp``)."""
        args = ["--sandboxed"] * (wrap is not None) + ["--seccomp"] * seccomp
        spawned = await spawn(
            "unkai.platform.runners.basezygote", args, env=env, log_path=log_path, wrap=wrap
        )
        process, fds_ours = spawned.process, spawned.fds
        reader, writer = await asyncio.open_unix_connection(sock=spawned.channel)
        try:
            hello = json.loads(await reader.readline() or b"{}")
        except BaseException:
            writer.close()
            fds_ours.close()
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await asyncio.shield(process.wait())
            raise
        if hello.get("event") != "ready":
            writer.close()
            fds_ours.close()
            ended = InstanceExit(await process.wait(), ())
            message = f"the base zygote did not start ({ended.reason}); see {log_path}"
            raise RunnerError(Reason.FORK_FAILED, message)
        modules = frozenset(hello.get("modules", ()))
        return cls(process, reader, writer, fds_ours, modules=modules, sandboxed=wrap is not None)

    async def zygote(
        self,
        directory: Path,
        *,
        env: dict[str, str],
        cwd: Path,
        grace: float,
        log_path: Path,
        name: str,
        mounts: Sequence[Path] = (),
    ) -> ForkServer:
        """Fork a zygote for the function in ``directory``, in ``env`` and ``cwd``, logging
        to ``log_path``, titled ``name`` in ``ps``; sandboxed, it sees ``mounts``
        (read-only) besides the runtime."""
        if not self.alive:
            raise RunnerError(Reason.FORK_FAILED, "the base zygote has exited")
        zygote_id = uuid.uuid4().hex
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fds_ours, fds_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        fds_ours.settimeout(FDS_TIMEOUT)
        handed: list[int] = []
        try:
            with theirs, fds_theirs, log_path.open("ab") as log:
                since = log.tell()
                handed = [mounting.read_only_tree(path) for path in mounts]
                fds = [theirs.fileno(), fds_theirs.fileno(), log.fileno(), *handed]
                forked = self._zygotes[zygote_id] = _Forked(self, zygote_id)
                self._forks[zygote_id] = asyncio.get_running_loop().create_future()
                socket.send_fds(self._fds, [b"z"], fds)
                request: control.Message = {
                    "op": "zygote", "id": zygote_id, "dir": str(directory), "env": env,
                    "cwd": str(cwd), "grace": grace, "mounts": [str(m) for m in mounts],
                    "fds": len(fds), "name": name,
                }  # fmt: skip
                self._writer.write(control.encode(request))
                await self._writer.drain()
                await self._forks[zygote_id]
        except OSError as error:
            ours.close()
            fds_ours.close()
            self._zygotes.pop(zygote_id, None)
            message = f"the base zygote could not fork: {error}"
            raise RunnerError(Reason.FORK_FAILED, message) from None
        finally:
            self._forks.pop(zygote_id, None)
            for fd in handed:
                os.close(fd)
        return await ForkServer.attach(
            forked, ours, fds_ours, directory=directory, log_path=log_path, since=since,
            grace=grace, pid_namespace=self._sandboxed,
        )  # fmt: skip

    def signal(self, zygote_id: str, signum: int) -> None:
        if self.alive and zygote_id in self._pids:
            message = {"op": "signal", "id": zygote_id, "signal": int(signum)}
            self._writer.write(control.encode(message))

    async def close(self) -> None:
        """End the base (its zygotes are closed first, by their own channels)."""
        await self._close(5.0)

    def _dispatch(self, event: control.Message) -> None:
        zygote_id = event.get("id", "")
        if event["event"] == "forked":
            self._pids[zygote_id] = event["pid"]
            if (future := self._forks.get(zygote_id)) and not future.done():
                future.set_result(event["pid"])
        elif event["event"] == "exited":
            self._ended(zygote_id, event["code"])

    def _ended(self, zygote_id: str, code: int) -> None:
        self._pids.pop(zygote_id, None)
        forked = self._zygotes.pop(zygote_id, None)
        if forked is not None and not forked.exited.done():
            forked.exited.set_result(code)
        if (future := self._forks.get(zygote_id)) and not future.done():
            future.set_exception(OSError(f"exited with {code}"))

    def _lost(self) -> None:
        """The base is gone: its zygotes go too (unsandboxed, they are killed here)."""
        super()._lost()
        for zygote_id, pid in list(self._pids.items()):
            if not self._sandboxed:  # pids of our namespace: it was their parent
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            self._ended(zygote_id, -signal.SIGKILL)
        for zygote_id in list(self._zygotes):
            self._ended(zygote_id, -signal.SIGKILL)


class Bases:
    """The runner's base zygotes, one per sandbox identity, started when first needed and
    again after one died. ``logs`` is where their own output goes."""

    def __init__(
        self,
        *,
        sandbox: Sandbox,
        private_network: bool,
        inherited: Mapping[str, str],
        logs: Path,
    ) -> None:
        self._sandbox = sandbox
        self._private_network = private_network
        self._inherited = dict(inherited)
        self._logs = logs
        self._running: dict[Identity | None, asyncio.Task[tuple[BaseServer, list[Path]]]] = {}
        self.usable = not sandbox.enabled or (
            sandbox.root
            and mounting.SUPPORTED
            and not any(p.is_relative_to("/tmp") for p in python_paths())
        )
        """Whether zygotes can be forked from a base here (sandboxed: the platform must
        be root to hand mounts over, and its own Python must not live under ``/tmp``,
        which every fork covers with its own)."""

    async def zygote(
        self, spec: InstanceSpec, env: dict[str, str], *, log_path: Path
    ) -> ForkServer | None:
        """``spec``'s zygote forked from its base, or ``None`` when it needs one of its
        own (:func:`own_zygote_reason`, logged)."""
        if not self.usable or spec.bundle is None:
            return None
        sandboxed = self._sandbox.enabled
        sites = _sites(env, platform=self._inherited)
        mounts = [spec.bundle, *sites] if sandboxed else []
        identity = None
        if sandboxed:
            identity = self._sandbox.identity(
                spec.namespace, uid=spec.run_as_user, gid=spec.run_as_group
            )
        try:
            base, reachable = await self._base(identity, mounts)
        except (RunnerError, OSError) as error:  # no user namespaces here? say so, go on
            log.warning("no base zygote (each revision gets a zygote of its own): %s", error)
            self.usable = False
            return None
        reason = own_zygote_reason(
            shadowed=base.modules & provided_modules(sites), sandboxed=sandboxed,
            volumes=bool(spec.mounts), private_network=self._private_network,
            working_dir=bool(spec.working_dir), mounts=mounts, reachable=reachable,
        )  # fmt: skip
        if reason is not None:
            log.info("revision %s/%s gets a zygote of its own: %s", *spec.key, reason)
            return None
        return await base.zygote(
            spec.bundle, env=env, cwd=Path(spec.working_dir or spec.bundle),
            grace=spec.grace_period, log_path=log_path, name=str(spec.key), mounts=mounts,
        )  # fmt: skip

    async def close(self) -> None:
        tasks = list(self._running.values())
        self._running.clear()
        for task in tasks:
            with contextlib.suppress(Exception):
                base, _ = await task
                await base.close()

    async def _base(
        self, identity: Identity | None, mounts: Sequence[Path]
    ) -> tuple[BaseServer, list[Path]]:
        task = self._running.get(identity)
        if task is None or (
            task.done() and (task.cancelled() or task.exception() or not task.result()[0].alive)
        ):
            task = asyncio.ensure_future(self._start(identity, mounts))
            self._running[identity] = task
        return await asyncio.shield(task)

    async def _start(
        self, identity: Identity | None, mounts: Sequence[Path]
    ) -> tuple[BaseServer, list[Path]]:
        """A base for ``identity``; sandboxed, with a place (a tmpfs anyone may write) for
        the forks' mount points at the parents of ``mounts`` (the first revision's bundle
        and sites: the others of its namespace live beside them) and ``/tmp``."""
        places = sorted({m.parent for m in mounts if not m.is_relative_to("/tmp")})
        reachable = [Path("/tmp"), *places]
        wrap = None
        if self._sandbox.enabled:
            wrap = functools.partial(
                dataclasses.replace(self._sandbox, seccomp=False).command,
                identity=identity, read_only=(), workdir=Path("/"),
                mounts=[Bind(str(place), None, writable=True) for place in places],
            )  # fmt: skip
        name = "platform" if identity is None else f"{identity.uid}-{identity.gid}"
        log_path = self._logs / ".bases" / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**self._inherited, "PYTHONUNBUFFERED": "1"}
        base = await BaseServer.start(
            env=env, log_path=log_path, wrap=wrap, seccomp=self._sandbox.seccomp
        )
        log.info("base zygote %s started (pid %d)", name, base.process.pid)
        return base, reachable
