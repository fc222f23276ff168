"""The process runner's zygotes: one per revision that runs or is prepared, started once
however many ask, and let go when idle.

A revision's zygote is forked from its base zygote where it can be (``bases``) and
started on its own otherwise (in the sandbox's command, see ``sandbox``). A revision at
zero keeps its zygote, so that its next cold start is a fork, for as long as ``keep``
(:class:`~.retirement.KeepPolicy`) says: an idle zygote (no live instance, none being
started) is closed after ``idle_after`` seconds, the least recently used first beyond
``at_most`` of them, and all of them when the machine is short of memory; the next cold
start of its revision starts a zygote again (from the base: the function's import).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from unkai.platform.contracts import Reason, RevisionKey
from unkai.platform.runners import cgroups, retirement
from unkai.platform.runners.base import InstanceSet, InstanceStartError
from unkai.platform.runners.bases import Bases
from unkai.platform.runners.forkserver import ForkServer
from unkai.platform.runners.logfiles import LogFiles, summary, tail
from unkai.platform.runners.retirement import KeepPolicy
from unkai.platform.runners.revisionenv import RevisionEnvironments, bundle_of
from unkai.platform.runners.sandbox import Sandbox, binds
from unkai.platform.runners.spec import InstanceSpec
from unkai.platform.supervision import supervise

log = logging.getLogger("unkai.runners")


class Zygotes:
    """The zygotes of a process runner's revisions (module docstring); ``instances`` are
    the runner's, by which a zygote is idle or not."""

    def __init__(
        self,
        *,
        logs: LogFiles,
        sandbox: Sandbox,
        environments: RevisionEnvironments,
        instances: InstanceSet,
        bases: Bases | None,
        ready_timeout: float,
        private_network: bool,
        keep: KeepPolicy,
        retire_interval: float,
        spares: cgroups.Spares | None = None,
    ) -> None:
        self._logs = logs
        self._sandbox = sandbox
        self._environments = environments
        self._instances = instances
        self._bases = bases
        self._ready_timeout = ready_timeout
        self._private_network = private_network
        self._keep = keep
        self._retire_interval = retire_interval
        self._spares = spares  # cgroups made ahead for revisions whose zygote is kept
        self._running: dict[RevisionKey, asyncio.Task[ForkServer]] = {}
        self._idle_since: dict[RevisionKey, float] = {}  # zygotes with no live instance
        self._starting: dict[RevisionKey, int] = {}  # instances being started, by revision
        self._retiring: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._running)

    def __contains__(self, key: RevisionKey) -> bool:
        return key in self._running

    async def of(self, spec: InstanceSpec) -> ForkServer:
        """The revision's zygote, started (once, however many ask at a time) when needed."""
        task = self._running.get(spec.key)
        if task is None or not _usable(task):
            task = self._running[spec.key] = asyncio.ensure_future(self._start(spec))
            if self._retiring is None:
                self._retiring = supervise("retiring idle zygotes", self._retire_idle)
        try:
            return await asyncio.shield(task)
        finally:
            self.maybe_idle(spec.key)  # prepared ahead of any instance, or failed

    @contextlib.contextmanager
    def starting(self, key: RevisionKey) -> Iterator[None]:
        """An instance of ``key`` is being started: its zygote is not idle meanwhile."""
        self._idle_since.pop(key, None)
        self._starting[key] = self._starting.get(key, 0) + 1
        try:
            yield
        finally:
            self._starting[key] -= 1
            if not self._starting[key]:
                del self._starting[key]
            self.maybe_idle(key)

    def maybe_idle(self, key: RevisionKey) -> None:
        """The revision's zygote, if it has one, is idle from now if nothing of it runs."""
        if (
            key in self._running
            and key not in self._idle_since
            and key not in self._starting
            and not self._instances.of(key)
        ):
            self._idle_since[key] = time.monotonic()

    async def retire(self, key: RevisionKey) -> None:
        self._idle_since.pop(key, None)
        task = self._gone(key)
        if task is not None:
            await _close(task)

    async def close(self) -> None:
        if self._retiring is not None:
            self._retiring.cancel()
            await asyncio.gather(self._retiring, return_exceptions=True)
        tasks = list(self._running.values())
        self._running.clear()
        await asyncio.gather(*(_close(task) for task in tasks))
        if self._bases is not None:
            await self._bases.close()

    async def _retire_idle(self) -> None:
        """Every ``retire_interval``, close the idle zygotes the keep policy gives up."""
        while True:
            await asyncio.sleep(self._retire_interval)
            pressure = retirement.short_of_memory(_meminfo())
            chosen = retirement.to_retire(
                self._idle_since, now=time.monotonic(), policy=self._keep, pressure=pressure
            )
            closing = []  # all taken out before any wait: a start meanwhile makes a new one
            for key in chosen:
                del self._idle_since[key]
                if (task := self._gone(key)) is not None:
                    log.info("revision %s/%s: closing its idle zygote", *key)
                    closing.append(_close(task))
            await asyncio.gather(*closing)

    def _gone(self, key: RevisionKey) -> asyncio.Task[ForkServer] | None:
        """The revision's zygote, taken out (to close), and its spare cgroup dropped."""
        if self._spares is not None:
            self._spares.drop(key)
        return self._running.pop(key, None)

    async def _start(self, spec: InstanceSpec) -> ForkServer:
        env = await self._environments.of(spec)
        log_path = self._logs.zygote(spec)
        try:
            async with asyncio.timeout(self._ready_timeout):
                if self._bases is not None:
                    forked = await self._bases.zygote(spec, env, log_path=log_path)
                    if forked is not None:
                        return forked
                return await ForkServer.start(
                    bundle_of(spec), env=env, log_path=log_path, grace=spec.grace_period,
                    cwd=spec.working_dir or None, wrap=self._wrap(spec, env),
                    name=str(spec.key),
                )  # fmt: skip
        except TimeoutError:
            lines = summary(tail(log_path))
            message = f"the function did not load in {self._ready_timeout:g}s; last log lines:"
            raise InstanceStartError(Reason.LOAD_TIMEOUT, f"{message}\n{lines}") from None

    def _wrap(
        self, spec: InstanceSpec, env: Mapping[str, str]
    ) -> Callable[[list[str]], list[str]] | None:
        """How the zygote's command is run in the sandbox (``None``: as it is)."""
        if not self._sandbox.enabled:
            return None
        identity = self._sandbox.identity(
            spec.namespace, uid=spec.run_as_user, gid=spec.run_as_group
        )
        sites = [Path(p) for p in env["PYTHONPATH"].split(os.pathsep) if p and Path(p).exists()]
        bundle = bundle_of(spec)
        return functools.partial(
            self._sandbox.command, identity=identity, read_only=[bundle, *sites],
            workdir=Path(spec.working_dir) if spec.working_dir else bundle,
            network=self._private_network, mounts=binds(spec),
        )  # fmt: skip


def _usable(task: asyncio.Task[ForkServer]) -> bool:
    if not task.done():
        return True
    return not task.cancelled() and task.exception() is None and task.result().alive


def _meminfo() -> str:
    try:
        return Path("/proc/meminfo").read_text()
    except OSError:
        return ""


async def _close(task: asyncio.Task[ForkServer]) -> None:
    with contextlib.suppress(Exception):
        zygote = await task
        await zygote.close()
