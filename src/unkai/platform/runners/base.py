"""The runner protocol: how the data plane starts, watches and stops a revision's instances.

A :class:`Runner` turns an :class:`~unkai.platform.runners.spec.InstanceSpec` into
running :class:`Instance` objects that listen on a loopback port (and, when the runner
can arrange it, a Unix socket: the gateway's cheaper way in), and keeps whatever a
revision shares between its instances (the fork-server's zygote) until told to
``retire`` it. The contract, the same for every runner:

* ``await runner.start(spec)`` returns an instance once its readiness probe passed, or
  raises :class:`InstanceStartError` (with the exit status and last log lines when it exited
  first); a runner that cannot run the spec at all raises :class:`RunnerError`;
* ``await instance.wait()`` returns the :class:`InstanceExit` when it ends, whoever ended
  it: the data plane restarts crashed instances from there (see ``unkai.platform.backoff``);
* ``await instance.stop()`` drains like a Kubernetes pod: SIGTERM, up to the grace
  period (``timeoutSeconds``) to finish, then SIGKILL;
* once ready, an instance runs its probes as a kubelet would (``prober``): ``serving``
  turns False while its readiness probe fails (``on_serving`` callbacks hear it), and a
  failing liveness probe stops it, its exit then carrying reason ``LivenessProbeFailed``.

Errors carry a ``reason`` and a ``message`` shaped for the Revision's ``ContainerHealthy``
condition (``ExitCode1``, ``ContainerRuntimeUnavailable``…).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from unkai.errors import TargetError
from unkai.platform.contracts import Reason, RevisionKey
from unkai.platform.runners import logfiles, prober
from unkai.platform.runners.probe import Target

if TYPE_CHECKING:
    from unkai.platform.runners.spec import InstanceSpec

logger = logging.getLogger("unkai.runners")
HOST: Final = "127.0.0.1"
TAIL_LINES: Final = 20
OOM_KILLED: Final = "OOMKilled"


class RunnerError(TargetError):
    """A runner cannot do what was asked; ``reason`` is a condition reason (CamelCase)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class InstanceStartError(RunnerError):
    """An instance did not become ready; ``exit`` says how it ended, when it did."""

    def __init__(self, reason: str, message: str, exit: InstanceExit | None = None) -> None:
        super().__init__(reason, message)
        self.exit = exit


@dataclass(frozen=True)
class InstanceExit:
    """How an instance ended: ``code`` as ``Popen.returncode`` (negative: killed by that
    signal) and the last lines of its log; ``cause`` is the platform's reason when it
    ended it on purpose (a failed liveness probe) and ``why`` what it saw; ``oom_killed``
    whether the kernel killed it for want of memory."""

    code: int
    log_tail: tuple[str, ...] = ()
    cause: str = ""
    why: str = ""
    oom_killed: bool = False

    @property
    def reason(self) -> str:
        """Kubernetes' form: ``ExitCode1``; ``ExitCode137`` for SIGKILL (128 + signal);
        ``OOMKilled`` when the kernel killed a process of the instance for want of memory;
        the platform's ``cause`` when it ended the instance on purpose."""
        if self.oom_killed:
            return OOM_KILLED
        if self.cause:
            return self.cause
        return f"ExitCode{self.code if self.code >= 0 else 128 - self.code}"

    @property
    def message(self) -> str:
        how = f"exit code {self.code}"
        if self.code < 0:
            how = f"killed by {signal.Signals(-self.code).name}"
        if self.oom_killed:
            how += " after using all the memory its limit allows (resources.limits.memory)"
        lines = logfiles.summary(self.log_tail)
        told = f"{self.why}; the instance was restarted ({how})" if self.cause else ""
        said = told or f"Container failed with {how}"
        return said + (f"; last log lines:\n{lines}" if lines else "")


class Instance:
    """One running instance, on ``127.0.0.1:{port}`` and, when ``socket_path`` is set,
    on that Unix socket too (the gateway and the readiness probe use it then; a
    sandboxed instance listens on nothing else, and its ``port`` is 0).

    ``oom_killed()`` says, once it has ended, whether the kernel killed it for want of
    memory; ``unisolated`` says what of the sandbox could not be applied ("" when all).

    Runners build it from the exit status to come (``returncode``) and a way to signal
    the process (group); everything else is the same whatever runs it. A runner whose
    instance says when it has started passes that as ``started``, which stands for the
    first readiness probe when it says ``True`` (ready as it started).
    """

    def __init__(
        self,
        *,
        id: str,
        spec: InstanceSpec,
        port: int,
        log_path: Path,
        returncode: asyncio.Future[int],
        send_signal: Callable[[int], Awaitable[None]],
        socket_path: Path | None = None,
        exec_prefix: tuple[str, ...] = (),
        exec_env: Mapping[str, str] | None = None,
        oom_killed: Callable[[], bool] = lambda: False,
        unisolated: str = "",
        started: Awaitable[bool] | None = None,
    ) -> None:
        self.id = id
        self._started = started
        self.spec = spec
        self.port = port
        self.socket_path = socket_path
        self.unisolated = unisolated
        self._oom_killed = oom_killed
        self.log_path = log_path
        self.started_at = time.monotonic()
        self._returncode = returncode
        self._send_signal = send_signal
        self._ended: InstanceExit | None = None
        self._ended_at: float | None = None
        self.serving = False
        self.target = Target(
            port, unix=socket_path, exec_prefix=exec_prefix, env=exec_env,
            cwd=None if exec_prefix else (spec.working_dir or None),
        )  # fmt: skip
        self._on_serving: list[Callable[[], object]] = []
        self._cause = ("", "")
        self._probing: asyncio.Future[None] | None = None
        self.on_exit(self._note_end)

    def __repr__(self) -> str:
        return f"<Instance {self.id} {self.url}>"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def exit(self) -> InstanceExit | None:
        """How it ended, or ``None`` while it runs."""
        if not self._returncode.done():
            return None
        if self._ended is None:
            code, tail = self._returncode.result(), tuple(self.log_tail())
            self._ended = InstanceExit(code, tail, *self._cause, oom_killed=self._oom_killed())
        return self._ended

    def on_exit(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` (on the event loop) once the instance has ended."""
        self._returncode.add_done_callback(lambda _: callback())

    def uptime(self) -> float:
        """Seconds it ran (so far, or until it ended): ``ran_for`` for ``CrashLoop``."""
        return (self._ended_at or time.monotonic()) - self.started_at

    def on_serving(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` whenever ``serving`` changes."""
        self._on_serving.append(callback)

    def _note_end(self) -> None:
        self._ended_at = time.monotonic()
        self.serving = False
        if self._probing is not None:
            self._probing.cancel()

    def _set_serving(self, serving: bool, why: str) -> None:
        self.serving = serving
        logger.info("instance %s %s", self.id, "serves again" if serving else why)
        for callback in self._on_serving:
            callback()

    async def _kill_for_liveness(self, why: str) -> None:
        self._cause = (prober.LIVENESS_FAILED, why)
        if self.serving:
            self._set_serving(False, why)
        await self.stop()

    def log_tail(self, lines: int = TAIL_LINES) -> list[str]:
        return logfiles.tail(self.log_path, lines)

    async def wait(self) -> InstanceExit:
        """Wait for the instance to end (cancelling the wait does not touch it)."""
        await asyncio.shield(self._returncode)
        exit = self.exit
        assert exit is not None
        return exit

    async def stop(self) -> InstanceExit:
        """SIGTERM, up to ``spec.grace_period`` to drain, then SIGKILL; the exit."""
        if not self._returncode.done():
            await self._send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(self.spec.grace_period):
                    await asyncio.shield(self._returncode)
            except TimeoutError:
                await self._send_signal(signal.SIGKILL)
        return await self.wait()

    async def _first_ready(self) -> None:
        if self._started is not None and await self._started:
            return  # it said it was ready as it started
        await prober.first_ready(self.spec.readiness, self.target, started=self.started_at)

    async def until_ready(self, *, limit: float) -> None:
        """Probe until ready; raise :class:`InstanceStartError` if it exits, or is not ready
        within ``limit`` seconds after the probe's initial delay (stopping it then). Once
        ready, it serves and its probes keep running (module docstring)."""
        probing = asyncio.ensure_future(self._first_ready())
        if self.spec.readiness is not None:  # the wait starts after initialDelaySeconds
            limit += self.spec.readiness.initial_delay
        either: set[asyncio.Future[Any]] = {probing, self._returncode}
        try:
            async with asyncio.timeout(limit):
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            ended = await self.stop()
            raise InstanceStartError(
                Reason.READINESS_TIMEOUT,
                f"not ready after {limit:g}s; last log lines:\n" + logfiles.summary(ended.log_tail),
                ended,
            ) from None
        finally:
            probing.cancel()
        if self._returncode.done():
            ended = await self.wait()
            raise InstanceStartError(ended.reason, ended.message, ended)
        self.serving = True
        self._probing = asyncio.ensure_future(
            prober.watch(
                self.spec.readiness, self.spec.liveness, self.target, started=self.started_at,
                serving=self._set_serving, dead=self._kill_for_liveness,
            )
        )  # fmt: skip


class InstanceSet:
    """The live instances a runner started; an instance leaves the set when it ends."""

    def __init__(self) -> None:
        self._live: dict[str, Instance] = {}

    def add(self, instance: Instance) -> None:
        self._live[instance.id] = instance
        instance.on_exit(lambda: self._live.pop(instance.id, None))

    def of(self, key: RevisionKey | None = None) -> list[Instance]:
        """The live instances of one revision (``None``: of all)."""
        return [i for i in self._live.values() if key is None or i.spec.key == key]

    async def stop(self, key: RevisionKey | None = None) -> None:
        """Stop (drain) the live instances of one revision, or all, at once."""
        await asyncio.gather(*(instance.stop() for instance in self.of(key)))


def free_port() -> int:
    """A loopback port that was free a moment ago, for a server that binds it itself."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Runner(Protocol):
    """What the data plane needs from a way of running instances."""

    async def prepare(self, spec: InstanceSpec) -> None:
        """Get ready to start the revision's instances fast (zygote, environment); optional
        before ``start``, which does it when needed. Raises like ``start``."""
        ...

    async def start(self, spec: InstanceSpec) -> Instance:
        """A new instance of the revision, ready to serve."""
        ...

    async def retire(self, key: RevisionKey) -> None:
        """Stop the revision's instances and drop what they shared (the revision went
        inactive or away)."""
        ...

    async def close(self) -> None:
        """Stop every instance and everything else this runner started."""
        ...
