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

Revisions' zygotes, forked from a base zygote per sandbox identity where they can be,
and let go when idle as ``keep`` says, are managed by ``zygotes``; requirements and
environments by ``revisionenv`` (installs in a small pool of their own, cancelled when
the revision is retired).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import secrets
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, Literal

from unkai.build import pip
from unkai.platform.contracts import Reason, RevisionKey
from unkai.platform.runners import cgroups
from unkai.platform.runners.base import (
    HOST,
    Instance,
    InstanceSet,
    RunnerError,
    free_port,
)
from unkai.platform.runners.bases import Bases
from unkai.platform.runners.forkserver import Forked, ForkServer
from unkai.platform.runners.limits import Limits, checked
from unkai.platform.runners.logfiles import LogFiles
from unkai.platform.runners.refusals import refusal
from unkai.platform.runners.retirement import KeepPolicy
from unkai.platform.runners.revisionenv import RevisionEnvironments, bundle_of
from unkai.platform.runners.sandbox import Sandbox
from unkai.platform.runners.spec import (
    DEFAULT_READINESS,
    InstanceSpec,
    base_environment,
)
from unkai.platform.runners.zygotes import Zygotes
from unkai.runtime import lifeline

Mode = Literal["fork", "spawn"]
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
        self._spares = None if self.cgroups is None else cgroups.Spares(self.cgroups)
        self.gaps = self.sandbox.gaps
        if self.cgroups is None:
            why = "no writable cgroup hierarchy" if isolate else "switched off (isolate=False)"
            self.gaps += (f"memory, CPU and process limits are not enforced: {why}",)
        if private_network and (missing := self.sandbox.no_private_network) is not None:
            self.gaps += (f"instances share the machine's network (no private one): {missing}",)
        if mode == "spawn" and self.sandbox.enabled:
            self.gaps += ("spawned instances (mode=spawn) are neither sandboxed nor limited",)
        if self.gaps:
            log.warning("instances will not be fully isolated: %s", "; ".join(self.gaps))
        self._ready_timeout = ready_timeout
        self._inherited = base_environment(os.environ) if inherited is None else dict(inherited)
        self._environments = RevisionEnvironments(
            sandbox=self.sandbox, inherited=self._inherited, root=environments,
            install_timeout=install_timeout, private_network=private_network,
            internal_gateway=internal_gateway,
        )  # fmt: skip
        self._make_socket_dir = socket_dir or _temporary_dir
        self._sockets: Path | None = None
        self._socket_numbers = itertools.count(1)
        self.instances = InstanceSet()
        bases = Bases(
            sandbox=self.sandbox, private_network=private_network, inherited=self._inherited,
            logs=logs.root,
        ) if shared_base and mode == "fork" else None  # fmt: skip
        self._zygotes = Zygotes(
            logs=logs, sandbox=self.sandbox, environments=self._environments,
            instances=self.instances, bases=bases, ready_timeout=ready_timeout,
            private_network=private_network, keep=keep or KeepPolicy(),
            retire_interval=retire_interval, spares=self._spares,
        )  # fmt: skip

    async def prepare(self, spec: InstanceSpec) -> None:
        if self.mode == "fork":
            await self._zygotes.of(spec)
        else:
            await self._environments.of(spec)

    async def start(self, spec: InstanceSpec) -> Instance:
        with self._zygotes.starting(spec.key):
            return await self._start(spec)

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
            zygote = await self._zygotes.of(spec)
            socket_path = self._socket_path()
            group = self._group(spec, instance_id, limits)
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
            returncode.add_done_callback(lambda _: self._spare(spec, limits))
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
        instance.on_exit(lambda: self._zygotes.maybe_idle(spec.key))
        await instance.until_ready(limit=self._ready_timeout)
        return instance

    async def retire(self, key: RevisionKey) -> None:
        self._environments.retire(key)
        await self.instances.stop(key)
        await self._zygotes.retire(key)

    async def close(self) -> None:
        self._environments.close()
        await self.instances.stop()
        await self._zygotes.close()
        if self._sockets is not None:
            shutil.rmtree(self._sockets, ignore_errors=True)
            self._sockets = None
        if self.cgroups is not None:
            cgroups.release(self.cgroups)

    @property
    def zygotes(self) -> int:
        """Zygotes running or starting now (one per revision that has one)."""
        return len(self._zygotes)

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

    def _group(
        self, spec: InstanceSpec, instance_id: str, limits: Limits
    ) -> cgroups.InstanceGroup | None:
        if self._spares is None:
            return None
        try:
            return self._spares.take(spec.key, instance_id, limits)
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
                name=f"{spec.namespace}/{instance_id}",
            )  # fmt: skip
        finally:
            listener.close()
            for fd in fds:
                os.close(fd)

    def _spare(self, spec: InstanceSpec, limits: Limits) -> None:
        """An instance ended: a group for the revision's next one, while its zygote is kept."""
        if self._spares is not None and spec.key in self._zygotes:
            self._spares.make(spec.key, f"{spec.revision}-{secrets.token_hex(3)}", limits)

    def _socket_path(self) -> Path:
        """A fresh path for an instance's Unix socket."""
        if self._sockets is None:
            self._sockets = self._make_socket_dir()
        return self._sockets / f"{next(self._socket_numbers)}.sock"

    async def _spawn(
        self, spec: InstanceSpec, log_path: Path
    ) -> tuple[int, asyncio.subprocess.Process]:
        env = await self._environments.of(spec)
        port = free_port()  # a small race with other binders, which fork mode does not have
        env.update(spec.contract_env(port=port))
        lifeline.child_env(env)
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "unkai.runtime", str(bundle_of(spec))),
                *("--host", HOST, "--port", str(port)),
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                cwd=spec.working_dir or None,
            )
        return port, process


def _temporary_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="unkai-"))  # mode 0700


async def _ended(returncode: asyncio.Future[int], group: cgroups.InstanceGroup | None) -> int:
    """The instance's exit status, once nothing of it is left: what it started
    (detached or not) is killed and its group removed."""
    code = await asyncio.shield(returncode)
    if group is not None:
        await asyncio.to_thread(group.kill)
        group.oom_kills()  # read (and kept) before the group goes
        group.remove()
    return code
