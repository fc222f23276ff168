"""The process runner: bundles run as local processes, forked from a zygote by default.

Two modes, chosen when the runner is made:

* ``"fork"`` (default): one zygote per active revision (see ``zygote``) loads the
  function once; each instance is a fork of it, serving a few milliseconds later on a
  Unix socket in the runner's private directory (mode 0700), which is how the gateway
  and the readiness probe reach it. Its socket listens before the fork and it tells
  the platform when its function has started and whether the runtime's readiness
  passes then (its *started* pipe), so an instance whose readiness is the runtime's
  own (no probe declared, or Knative's default TCP one) is ready at that moment,
  without a poll; a readiness probe the Service declares is run as the kubelet would.
  Isolated (the default, where this machine allows: see ``sandbox`` and ``cgroups``),
  the zygote runs in a sandbox and each instance in a control group of its own with
  the container's limits, and it has no TCP port; otherwise it also serves on a
  loopback ``PORT``.
* ``"spawn"``: each instance is a fresh ``python -m unkai.runtime``, which imports and
  loads the function itself. Slower to start, but nothing is shared between instances;
  the fallback where forking is unwelcome (a function that starts threads at import).

When an instance ends, whatever is left in its control group (detached children) is
killed with it, and an OOM kill is reported as ``OOMKilled``.

Either way an instance runs Unkai's interpreter with the function's requirements (a
cached environment, see ``unkai.build.environments``) first on ``PYTHONPATH``, the
container's ``env`` and the runtime contract's ``PORT`` and ``K_*`` (over
``spec.base_environment``, nothing of the platform's own), in the container's
``workingDir`` (when given), in its own process group, with output to its own log file.
``PORT`` is a free loopback port, not ``containerPort``: instances share the machine's
network. Volumes are mounted by the zygote's sandbox (see ``sandbox``); what a process
cannot honour without it (``volumeMounts``, unsandboxed or spawned) or because the
runtime is the entrypoint (``command``, ``args``) fails the start with a reason saying
so (:func:`refusal`), never silently.

A revision at zero keeps its zygote, so that its next cold start is a fork, for as long
as ``keep`` (:class:`~.retirement.KeepPolicy`) says: an idle zygote (no live instance)
is closed after ``idle_after`` seconds, the least recently used first beyond
``at_most`` of them, and all of them when the machine is short of memory; the next cold
start of its revision starts a zygote again.

Requirements are installed in a small pool of the runner's own (:data:`INSTALLS_AT_ONCE`
threads), not the event loop's shared one, each within ``install_timeout``; retiring a
revision cancels its install. So a hanging ``pip`` delays only deploys that need an
install too, never applies, cold starts or other revisions' instances.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import os
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final, Literal

from unkai.api.yamlsource import SourceError
from unkai.build import environments, pip
from unkai.platform.contracts import Reason, RevisionKey
from unkai.platform.runners import cgroups, retirement
from unkai.platform.runners.base import (
    HOST,
    Instance,
    InstanceSet,
    InstanceStartError,
    RunnerError,
    free_port,
)
from unkai.platform.runners.bases import Bases
from unkai.platform.runners.forkserver import Forked, ForkServer
from unkai.platform.runners.limits import Limits, checked
from unkai.platform.runners.logfiles import LogFiles, summary, tail
from unkai.platform.runners.refusals import refusal
from unkai.platform.runners.retirement import KeepPolicy
from unkai.platform.runners.sandbox import Sandbox, binds
from unkai.platform.runners.spec import (
    DEFAULT_READINESS,
    InstanceSpec,
    base_environment,
    internal_gateway_env,
)
from unkai.platform.supervision import supervise
from unkai.runtime import LoadError, lifeline, load_spec

Mode = Literal["fork", "spawn"]
INSTALLS_AT_ONCE: Final = 2
RETIRE_INTERVAL: Final = 10.0
BACKLOG: Final = 2048
log = logging.getLogger("unkai.runners")


class ProcessRunner:
    """Runs instances of bundles; see the module docstring (and ``base`` for the contract).

    ``environments`` is where requirement environments are cached (default: the user's
    cache dir); ``ready_timeout`` bounds loading the function and each instance's
    readiness; ``install_timeout`` bounds installing the requirements; ``inherited`` is
    the environment instances start from (default: ``spec.base_environment``, not ours);
    ``private_network=True`` gives each sandboxed zygote a network of its own (see
    ``network``); ``internal_gateway`` gives the port of the gateway's internal listener,
    told to instances that can reach it (see ``spec.internal_gateway_env``);
    ``isolate=False`` runs
    instances unsandboxed and unlimited, as the platform's user (and says so in every
    instance's ``unisolated``, as it does for whatever this machine does not permit).
    Forked instances' Unix sockets live in a private temporary directory (short, as
    socket paths must be) that :meth:`close` removes, made by ``socket_dir`` when given
    (the platform records it, to remove it at its next start if it dies first).
    ``keep`` says how long the zygote of a revision without instances is kept, looked
    at every ``retire_interval`` seconds (module docstring). ``shared_base=False``
    starts every revision's zygote on its own instead of forking it from a base
    zygote (see ``bases``).
    """

    def __init__(
        self,
        *,
        logs: LogFiles,
        mode: Mode = "fork",
        environments: Path | None = None,
        ready_timeout: float = 60.0,
        install_timeout: float = pip.DEFAULT_TIMEOUT,
        inherited: Mapping[str, str] | None = None,
        isolate: bool = True,
        private_network: bool = False,
        keep: KeepPolicy | None = None,
        retire_interval: float = RETIRE_INTERVAL,
        internal_gateway: Callable[[], int] | None = None,
        socket_dir: Callable[[], Path] | None = None,
        shared_base: bool = True,
    ) -> None:
        self.logs = logs
        self.mode = mode
        self.sandbox = Sandbox.detect() if isolate else Sandbox.off("switched off (isolate=False)")
        self.cgroups = cgroups.detect() if isolate else None
        self.gaps = self.sandbox.gaps
        if self.cgroups is None:
            why = "no writable cgroup hierarchy" if isolate else "switched off (isolate=False)"
            self.gaps += (f"memory, CPU and process limits are not enforced: {why}",)
        self._private_network = private_network
        self._internal_gateway = internal_gateway
        if private_network and (missing := self.sandbox.no_private_network) is not None:
            self.gaps += (f"instances share the machine's network (no private one): {missing}",)
        if mode == "spawn" and self.sandbox.enabled:
            self.gaps += ("spawned instances (mode=spawn) are neither sandboxed nor limited",)
        if self.gaps:
            log.warning("instances will not be fully isolated: %s", "; ".join(self.gaps))
        self._environments = environments
        self._ready_timeout = ready_timeout
        self._install_timeout = install_timeout
        self._installs = ThreadPoolExecutor(INSTALLS_AT_ONCE, thread_name_prefix="unkai-install")
        self._unwanted: dict[RevisionKey, threading.Event] = {}
        self._inherited = base_environment(os.environ) if inherited is None else dict(inherited)
        self._zygotes: dict[RevisionKey, asyncio.Task[ForkServer]] = {}
        self._keep = keep or KeepPolicy()
        self._retire_interval = retire_interval
        self._idle_since: dict[RevisionKey, float] = {}  # zygotes with no live instance
        self._starting: dict[RevisionKey, int] = {}  # instances being started, by revision
        self._retiring: asyncio.Task[None] | None = None
        self._make_socket_dir = socket_dir or _temporary_dir
        self._sockets: Path | None = None
        self._socket_numbers = itertools.count(1)
        self.instances = InstanceSet()
        self._bases = Bases(
            sandbox=self.sandbox, private_network=private_network, inherited=self._inherited,
            logs=logs.root,
        ) if shared_base and mode == "fork" else None  # fmt: skip

    async def prepare(self, spec: InstanceSpec) -> None:
        if self.mode == "fork":
            await self._zygote(spec)
        else:
            await self._environment(spec)

    async def start(self, spec: InstanceSpec) -> Instance:
        key = spec.key
        self._idle_since.pop(key, None)
        self._starting[key] = self._starting.get(key, 0) + 1
        try:
            return await self._start(spec)
        finally:
            self._starting[key] -= 1
            if not self._starting[key]:
                del self._starting[key]
            self._maybe_idle(key)

    async def _start(self, spec: InstanceSpec) -> Instance:
        sandboxed = self.sandbox.enabled and self.mode == "fork"
        if (refused := refusal(spec, sandboxed=sandboxed)) is not None:
            raise RunnerError(*refused)
        instance_id = f"{spec.revision}-{secrets.token_hex(3)}"
        log_path = self.logs.instance(spec, instance_id)
        socket_path = None
        group: cgroups.InstanceGroup | None = None
        self._check_non_root(spec)
        started: asyncio.Future[bool] | None = None
        if self.mode == "fork":
            limits = checked(spec.resources)
            zygote = await self._zygote(spec)
            socket_path = self._socket_path()
            group = self._group(instance_id, limits)
            try:
                forked = await self._fork(zygote, spec, instance_id, log_path, socket_path, group)
            except BaseException:
                socket_path.unlink(missing_ok=True)
                if group is not None:
                    group.remove()
                raise

            async def send_signal(signum: int) -> None:
                await zygote.signal(instance_id, signum)

            port = 0 if self.sandbox.enabled else forked.port  # no TCP outside the sandbox
            returncode = asyncio.ensure_future(_ended(forked.returncode, group))
            if spec.readiness == DEFAULT_READINESS:
                started = forked.started
        else:
            port, process = await self._spawn(spec, log_path)
            returncode = asyncio.ensure_future(process.wait())

            async def send_signal(signum: int) -> None:
                if process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signum)

        instance = Instance(
            id=instance_id,
            spec=spec,
            port=port,
            log_path=log_path,
            returncode=returncode,
            send_signal=send_signal,
            socket_path=socket_path,
            exec_env={**self._inherited, **spec.env, **spec.contract_env(port=port)},
            oom_killed=lambda: group is not None and group.oom_kills() > 0,
            unisolated="; ".join(self._gaps(spec)),
            started=started,
        )
        if socket_path is not None:
            instance.on_exit(lambda: socket_path.unlink(missing_ok=True))
        self.instances.add(instance)
        instance.on_exit(lambda: self._maybe_idle(spec.key))
        await instance.until_ready(limit=self._ready_timeout)
        return instance

    async def retire(self, key: RevisionKey) -> None:
        if (unwanted := self._unwanted.pop(key, None)) is not None:
            unwanted.set()  # an install still running for it stops
        await self.instances.stop(key)
        self._idle_since.pop(key, None)
        task = self._zygotes.pop(key, None)
        if task is not None:
            await _close(task)

    async def close(self) -> None:
        if self._retiring is not None:
            self._retiring.cancel()
            await asyncio.gather(self._retiring, return_exceptions=True)
        for unwanted in self._unwanted.values():
            unwanted.set()
        self._unwanted.clear()
        self._installs.shutdown(wait=False, cancel_futures=True)
        await self.instances.stop()
        tasks = list(self._zygotes.values())
        self._zygotes.clear()
        await asyncio.gather(*(_close(task) for task in tasks))
        if self._bases is not None:
            await self._bases.close()
        if self._sockets is not None:
            shutil.rmtree(self._sockets, ignore_errors=True)
            self._sockets = None
        if self.cgroups is not None:
            cgroups.release(self.cgroups)

    @property
    def zygotes(self) -> int:
        """Zygotes running or starting now (one per revision that has one)."""
        return len(self._zygotes)

    def _maybe_idle(self, key: RevisionKey) -> None:
        """The revision's zygote, if it has one, is idle from now if nothing of it runs."""
        if (
            key in self._zygotes
            and key not in self._idle_since
            and key not in self._starting
            and not self.instances.of(key)
        ):
            self._idle_since[key] = time.monotonic()

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
                if (task := self._zygotes.pop(key, None)) is not None:
                    log.info("revision %s/%s: closing its idle zygote", *key)
                    closing.append(_close(task))
            await asyncio.gather(*closing)

    def _check_non_root(self, spec: InstanceSpec) -> None:
        """``runAsNonRoot`` refuses to run as uid 0, as the kubelet does (its words)."""
        identity = None
        if self.sandbox.enabled and self.mode == "fork":
            identity = self.sandbox.identity(
                spec.namespace, uid=spec.run_as_user, gid=spec.run_as_group
            )
        uid = os.geteuid() if identity is None else identity.uid
        if spec.run_as_non_root and uid == 0:
            message = "container's runAsUser breaks non-root policy"
            if spec.run_as_user is None:
                message = "container has runAsNonRoot and image will run as root"
            raise RunnerError(Reason.CREATE_CONTAINER_CONFIG_ERROR, message)

    def _gaps(self, spec: InstanceSpec) -> list[str]:
        """What of the sandbox and the limits does not hold for ``spec``'s instances."""
        gaps = list(self.gaps)
        cpu = checked(spec.resources).cpu
        if self.cgroups is not None and not self.cgroups.cpu and cpu is not None:
            gaps.append("resources.limits.cpu is not enforced: the cpu cgroup is not writable")
        return gaps

    def _group(self, instance_id: str, limits: Limits) -> cgroups.InstanceGroup | None:
        if self.cgroups is None:
            return None
        try:
            return self.cgroups.create(instance_id, limits)
        except OSError as error:
            message = f"cannot make the instance's cgroup: {error}"
            raise RunnerError(Reason.FORK_FAILED, message) from None

    async def _fork(
        self,
        zygote: ForkServer,
        spec: InstanceSpec,
        instance_id: str,
        log_path: Path,
        socket_path: Path,
        group: cgroups.InstanceGroup | None,
    ) -> Forked:
        """Fork an instance, handing it its log, its listening socket and its groups; it
        listens on TCP only unsandboxed, and ``PORT`` is then its port (else the
        container's, which nothing outside the sandbox can reach)."""
        sandboxed = self.sandbox.enabled
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        fds: list[int] = []
        try:
            listener.bind(str(socket_path))
            listener.listen(BACKLOG)
            fds.append(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644))
            if group is not None:
                fds += group.open_procs()
            return await zygote.fork(
                instance_id, log=fds[0], listener=listener.fileno(), groups=fds[1:],
                tcp=not sandboxed, port=spec.container_port if sandboxed else 0,
            )  # fmt: skip
        finally:
            listener.close()
            for fd in fds:
                os.close(fd)

    def _socket_path(self) -> Path:
        """A fresh path for an instance's Unix socket."""
        if self._sockets is None:
            self._sockets = self._make_socket_dir()
        return self._sockets / f"{next(self._socket_numbers)}.sock"

    async def _spawn(
        self, spec: InstanceSpec, log_path: Path
    ) -> tuple[int, asyncio.subprocess.Process]:
        env = await self._environment(spec)
        port = free_port()  # a small race with other binders, which fork mode does not have
        env.update(spec.contract_env(port=port))
        lifeline.child_env(env)
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "unkai.runtime", str(_bundle(spec))),
                *("--host", HOST, "--port", str(port)),
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                cwd=spec.working_dir or None,
            )
        return port, process

    async def _zygote(self, spec: InstanceSpec) -> ForkServer:
        """The revision's zygote, started (once, however many ask at a time) when needed."""
        task = self._zygotes.get(spec.key)
        if task is None or not _usable(task):
            task = self._zygotes[spec.key] = asyncio.ensure_future(self._start_zygote(spec))
            if self._retiring is None:
                self._retiring = supervise("retiring idle zygotes", self._retire_idle)
        try:
            return await asyncio.shield(task)
        finally:
            self._maybe_idle(spec.key)  # prepared ahead of any instance, or failed

    async def _start_zygote(self, spec: InstanceSpec) -> ForkServer:
        env = await self._environment(spec)
        log_path = self.logs.zygote(spec)
        try:
            async with asyncio.timeout(self._ready_timeout):
                if self._bases is not None:
                    forked = await self._bases.zygote(spec, env, log_path=log_path)
                    if forked is not None:
                        return forked
                return await ForkServer.start(
                    _bundle(spec), env=env, log_path=log_path, grace=spec.grace_period,
                    cwd=spec.working_dir or None,
                    wrap=self._wrap(spec, env),
                )  # fmt: skip
        except TimeoutError:
            lines = summary(tail(log_path))
            message = f"the function did not load in {self._ready_timeout:g}s; last log lines:"
            raise InstanceStartError(Reason.LOAD_TIMEOUT, f"{message}\n{lines}") from None

    def _wrap(
        self, spec: InstanceSpec, env: Mapping[str, str]
    ) -> Callable[[list[str]], list[str]] | None:
        """How the zygote's command is run in the sandbox (``None``: as it is)."""
        if not self.sandbox.enabled:
            return None
        identity = self.sandbox.identity(
            spec.namespace, uid=spec.run_as_user, gid=spec.run_as_group
        )
        sites = [Path(p) for p in env["PYTHONPATH"].split(os.pathsep) if p and Path(p).exists()]
        return functools.partial(
            self.sandbox.command, identity=identity, read_only=[_bundle(spec), *sites],
            workdir=Path(spec.working_dir) if spec.working_dir else _bundle(spec),
            network=self._private_network, mounts=binds(spec),
        )  # fmt: skip

    def _pip_sandbox(self, spec: InstanceSpec) -> pip.Sandboxing | None:
        """How the revision's requirements are installed: in the sandbox too, as its user,
        seeing what pip reads and writing only the environment being filled."""
        if not self.sandbox.enabled:
            return None
        identity = self.sandbox.identity(
            spec.namespace, uid=spec.run_as_user, gid=spec.run_as_group
        )

        def sandboxed(command: list[str], read_only: Sequence[Path], target: Path) -> list[str]:
            if identity is not None:  # the target is the platform's new, empty directory
                os.chown(target, identity.uid, identity.gid)
            return self.sandbox.command(
                command, identity=identity, read_only=read_only, writable=[target],
                workdir=read_only[-1],
            )  # fmt: skip

        return sandboxed

    async def _environment(self, spec: InstanceSpec) -> dict[str, str]:
        """What an instance's (or zygote's) environment is, before ``PORT``."""
        directory = _bundle(spec)
        try:
            lines = load_spec(directory).requirement_lines(directory)
        except (LoadError, SourceError) as error:  # a requirements file that went away
            raise RunnerError(Reason.FUNCTION_INVALID, str(error)) from None
        unwanted = self._unwanted.setdefault(spec.key, threading.Event())
        install = functools.partial(
            environments.prepare, lines, root=self._environments, base_dir=directory,
            timeout=self._install_timeout, cancelled=unwanted.is_set,
            sandbox=self._pip_sandbox(spec),
        )  # fmt: skip
        try:
            site = await asyncio.get_running_loop().run_in_executor(self._installs, install)
        except environments.RequirementsError as error:
            raise RunnerError(Reason.REQUIREMENTS_FAILED, str(error)) from None
        env = {**self._inherited, **self._platform_env(), **spec.env, **spec.contract_env()}
        env.pop("PORT", None)
        env["PYTHONPATH"] = site.python_path(self._inherited.get("PYTHONPATH"))
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _platform_env(self) -> dict[str, str]:
        """What the platform tells instances about itself: the internal gateway, unless
        they are in a network of their own, where loopback is out of reach."""
        private = self._private_network and self.sandbox.no_private_network is None
        if self._internal_gateway is None or private:
            return {}
        return internal_gateway_env(self._internal_gateway())


def _temporary_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="unkai-"))  # mode 0700


def _bundle(spec: InstanceSpec) -> Path:
    if spec.bundle is None:
        raise RunnerError(Reason.BUNDLE_MISSING, f"{spec.image or spec.revision}: no bundle to run")
    return spec.bundle


async def _ended(returncode: asyncio.Future[int], group: cgroups.InstanceGroup | None) -> int:
    """The instance's exit status, once nothing of it is left: what it started
    (detached or not) is killed and its group removed."""
    code = await asyncio.shield(returncode)
    if group is not None:
        await asyncio.to_thread(group.kill)
        group.oom_kills()  # read (and kept) before the group goes
        group.remove()
    return code


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
