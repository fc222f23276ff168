"""The container runner: any other image, with podman (or docker) where one works.

Whether a container runtime works is found out once, by ``{binary} info``; podman is
tried first, then docker (a docker client without an engine, as on many laptops and CI
machines, does not count). Where none works, ``start`` raises :class:`RunnerError` with
reason ``ContainerRuntimeUnavailable`` and a message saying what to install, which the
data plane puts on the Revision's condition.

An image that is not here yet is pulled before its first container starts (one pull
per image, however many instances wait for it); an image that cannot be pulled fails
with Knative's reason ``ContainerMissing`` and message ``Unable to fetch image "…"``
plus the client's own last line, rather than as a container that exited.

Each instance is a foreground ``{binary} run --rm`` whose output goes to the instance's
log file and whose exit status is the container's. The container's port
(``containerPort``, 8080 by default, given to it as ``PORT``) is published on a free
loopback port; env values reach the container through the client's environment
(``-e NAME``), not its command line. ``command`` replaces the image's entrypoint and
``args`` its command, as on Kubernetes; ``workingDir`` is ``-w``; each volume mount
bind-mounts the volume's materialised directory (``runners.volumes``, kept current by
the data plane) at its ``mountPath``, read-only where the mount says so (an
``emptyDir`` with ``medium: Memory`` is a ``--tmpfs`` of its ``sizeLimit``); ``exec``
probes run through ``{binary} exec``. podman runs with ``--runtime runc`` and
``--cgroup-manager=cgroupfs``, which work without systemd and inside other containers.
``resources.limits`` become the runtime's ``--memory`` and ``--cpus``, and a container
has the process runner's pids limit (``--pids-limit``), so a fork bomb stops there too.
Containers get explicit ulimits at or below our own (open files as ours, at most 4096
processes): runtimes' defaults are higher, and inside a sandbox raising a limit fails
("error setting rlimits").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import secrets
import shutil
from pathlib import Path
from typing import Final

from unkai.build import references
from unkai.platform.contracts import Reason, RevisionKey
from unkai.platform.runners import volumes
from unkai.platform.runners.base import HOST, Instance, InstanceSet, RunnerError, free_port
from unkai.platform.runners.limits import Limits, checked
from unkai.platform.runners.logfiles import LogFiles
from unkai.platform.runners.spec import InstanceSpec

PODMAN_OPTIONS: Final = ("--runtime", "runc", "--cgroup-manager=cgroupfs")
MAX_PROCESSES: Final = 4096
_INFO_TIMEOUT: Final = 30.0


class ContainerRunner:
    """Runs instances of OCI images; see the module docstring.

    ``binaries`` are the container clients to try, in order (tests name one that does
    not exist to see the unavailable path). ``ready_timeout`` covers pulling the image.
    """

    def __init__(
        self,
        *,
        logs: LogFiles,
        binaries: tuple[str, ...] = ("podman", "docker"),
        ready_timeout: float = 300.0,
        ulimits: tuple[str, ...] | None = None,
    ) -> None:
        self.logs = logs
        self.ulimits = default_ulimits() if ulimits is None else ulimits
        self._binaries = binaries
        self._ready_timeout = ready_timeout
        self._engine: asyncio.Task[list[str]] | None = None
        self._pulled: dict[str, asyncio.Task[None]] = {}
        self.instances = InstanceSet()

    async def engine(self) -> list[str]:
        """The command prefix of the container client that works (found once), or
        :class:`RunnerError` ``ContainerRuntimeUnavailable``."""
        if self._engine is None:
            self._engine = asyncio.ensure_future(_detect(self._binaries))
        return await asyncio.shield(self._engine)

    async def prepare(self, spec: InstanceSpec) -> None:
        await self._image(spec)

    async def start(self, spec: InstanceSpec) -> Instance:
        engine = await self._image(spec)
        instance_id = f"{spec.revision}-{secrets.token_hex(3)}"
        name = f"unkai-{spec.namespace}-{instance_id}"
        log_path = self.logs.instance(spec, instance_id)
        port = free_port()
        env = {**spec.env, **spec.contract_env(port=spec.container_port)}
        command = [*engine, "run", "--rm", "--name", name, "--pull=missing"]
        command += [part for limit in self.ulimits for part in ("--ulimit", limit)]
        command += ["-p", f"{HOST}:{port}:{spec.container_port}"]
        command += [part for variable in env for part in ("-e", variable)]
        command += _contract_options(spec)
        command += _limit_options(checked(spec.resources))
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *command,
                spec.image,
                *spec.args,
                env={**os.environ, **env},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

        async def send_signal(signum: int) -> None:
            kill = await asyncio.create_subprocess_exec(
                *engine,
                *("kill", "--signal", str(int(signum)), name),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            await kill.wait()

        instance = Instance(
            id=instance_id,
            spec=spec,
            port=port,
            log_path=log_path,
            returncode=asyncio.ensure_future(process.wait()),
            send_signal=send_signal,
            exec_prefix=(*engine, "exec", name),
        )
        self.instances.add(instance)
        await instance.until_ready(limit=self._ready_timeout)
        return instance

    async def _image(self, spec: InstanceSpec) -> list[str]:
        """The engine, once ``spec``'s image is here; :class:`RunnerError` when either
        is not to be had. A failed pull is tried again by the next call."""
        engine = await self.engine()
        image = spec.image or ""
        task = self._pulled.get(image)
        if task is None or (task.done() and (task.cancelled() or task.exception())):
            task = self._pulled[image] = asyncio.ensure_future(
                _pull(engine, image, self._ready_timeout)
            )
        await asyncio.shield(task)
        return engine

    async def retire(self, key: RevisionKey) -> None:
        await self.instances.stop(key)

    async def close(self) -> None:
        """Stop the instances, and the pulls still going (their clients killed)."""
        for task in self._pulled.values():
            task.cancel()
        await asyncio.gather(*self._pulled.values(), return_exceptions=True)
        await self.instances.stop()


def _contract_options(spec: InstanceSpec) -> list[str]:
    """``run`` options for the spec's entrypoint, working directory and volume mounts."""
    options = []
    if spec.command:
        options += ["--entrypoint", json.dumps(list(spec.command))]
    if spec.working_dir:
        options += ["-w", spec.working_dir]
    for mount in spec.mounts:
        if mount.memory:  # emptyDir medium: Memory, with its sizeLimit when given
            size = f",size={volumes.quantity_bytes(mount.size_limit)}" if mount.size_limit else ""
            options += ["--tmpfs", f"{mount.mount_path}:rw{size}"]
            continue
        source = volumes.source(mount, spec.volumes_dir)
        options += ["-v", f"{source}:{mount.mount_path}:{'ro' if mount.read_only else 'rw'}"]
    return options


def default_ulimits() -> tuple[str, ...]:
    """``--ulimit`` values no higher than this process's own limits (module docstring)."""
    files = resource.getrlimit(resource.RLIMIT_NOFILE)
    processes = [
        MAX_PROCESSES if limit == resource.RLIM_INFINITY else min(limit, MAX_PROCESSES)
        for limit in resource.getrlimit(resource.RLIMIT_NPROC)
    ]
    return (f"nofile={files[0]}:{files[1]}", f"nproc={processes[0]}:{processes[1]}")


async def _pull(engine: list[str], image: str, limit: float) -> None:
    """Pull ``image`` unless it is here. podman asks every registry for TLS; one on
    loopback (``unkai build --push``'s local registry, a test's) speaks plain HTTP, as
    Unkai's own registry client allows there and nowhere else, so for that one only it
    gets ``--tls-verify=false`` (docker already treats 127.0.0.0/8 as insecure)."""
    if (await _client(engine, ("image", "inspect", image), limit))[0] == 0:
        return
    try:
        loopback = references.is_loopback(references.parse(image).registry)
    except references.ImageReferenceError:
        loopback = False  # the client words what is wrong with it
    plain = ("--tls-verify=false",) if loopback and Path(engine[0]).name == "podman" else ()
    code, last = await _client(engine, ("pull", "--quiet", *plain, image), limit)
    if code != 0:
        raise RunnerError(Reason.CONTAINER_MISSING, f'Unable to fetch image "{image}": {last}')


async def _client(command: list[str], args: tuple[str, ...], limit: float) -> tuple[int, str]:
    """Run the container client: its exit status and the last line it wrote to stderr
    (status -1 when it did not finish within ``limit`` seconds and was killed)."""
    process = await asyncio.create_subprocess_exec(
        *command,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(limit):
            _, error = await process.communicate()
    except TimeoutError:
        await _kill(process)
        return -1, f"no answer in {limit:g}s"
    except asyncio.CancelledError:  # the runner is closing: the client goes with it
        await _kill(process)
        raise
    lines = error.decode(errors="replace").strip().splitlines()
    return process.returncode or 0, lines[-1] if lines else "failed"


async def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    await process.wait()


async def _detect(binaries: tuple[str, ...]) -> list[str]:
    problems = []
    for binary in binaries:
        path = shutil.which(binary)
        if path is None:
            problems.append(f"{binary}: not installed")
            continue
        command = [path, *(PODMAN_OPTIONS if binary == "podman" else ())]
        code, last = await _client(command, ("info",), _INFO_TIMEOUT)
        if code == 0:
            return command
        problems.append(f"{binary}: `{binary} info` failed: {last}")
    raise RunnerError(
        Reason.CONTAINER_RUNTIME_UNAVAILABLE,
        "no container runtime works here ("
        + "; ".join(problems)
        + "). Install podman and runc (Debian: apt-get install podman runc), or deploy the"
        " function as an Unkai bundle, which runs without containers.",
    )


def _limit_options(limits: Limits) -> list[str]:
    """``limits`` as podman's and docker's ``run`` flags (both spell them alike)."""
    options = ["--pids-limit", str(limits.pids)]
    if limits.memory is not None:
        options += ["--memory", f"{limits.memory}b", "--memory-swap", f"{limits.memory}b"]
    if limits.cpu is not None:
        options += ["--cpus", f"{limits.cpu:g}"]
    return options
