"""One revision's instances: as many as the autoscaler wants, ready ones in the gateway.

:class:`RevisionInstances` converges the running count to ``desired``: it starts
instances through the runner (each is published to the gateway only once its readiness
probe passed), and stops surplus ones by taking them out of the gateway, waiting for
their in-flight requests, then stopping them (SIGTERM, grace, SIGKILL). An instance
that exits on its own is a crash: it is taken out at once, reported in the revision's
``ContainerHealthy`` condition (exit code and last log lines) unless other instances
still serve (Knative looks at crashed pods only when none is available, so Ready does
not flap on one restart), and replaced after an exponential backoff; after ten failed
starts in a row it stops trying and reports ``CrashLoopBackOff`` with the last failure,
until the revision is replaced (a new deploy makes a new revision); meanwhile the
gateway answers its requests at once with a 503 naming the reason, instead of holding
them until their timeout. An instance whose
readiness probe fails leaves the gateway until it passes again. Every change of what it
would report calls ``changed()``. What it sees (failed starts, crashes, giving up, and
every few seconds the requests the gateway ended itself with 504, 503 or 502) is also
written to the revision's ``platform.log``, for ``unkai logs``
(:class:`~unkai.platform.logs.RevisionEvents`). The converging task is supervised: if
it fails (an ``OSError`` while stopping an instance, say), the revision reports
``ContainerHealthy=False`` with reason ``ScalingFailed`` and the task starts again
after a backoff, so a revision never says Ready while nothing manages its instances.
A healthy instance that runs without the sandbox or its limits (the machine does not
allow them) makes ``ContainerHealthy=True`` carry reason ``NotIsolated`` and what is
missing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from unkai.platform.backoff import CrashLoop
from unkai.platform.contracts import DEPLOYING, PERMANENT, Reason, Report
from unkai.platform.gateway import Endpoint, Gateway, responses
from unkai.platform.gateway.metrics import RevisionStats
from unkai.platform.logs import Outcomes, RevisionEvents, outcome_lines
from unkai.platform.runners import Instance, InstanceSpec, Runner, RunnerError
from unkai.platform.supervision import supervise

log = logging.getLogger("unkai.dataplane")

OUTCOME_INTERVAL = 5.0
"""Seconds between looks at the gateway's 504/503/502 counts of a revision."""


class RevisionInstances:
    """The instances of one revision and what they say about its health."""

    def __init__(
        self,
        spec: InstanceSpec,
        *,
        runner: Runner,
        gateway: Gateway,
        changed: Callable[[], None],
        cold_starts: Histogram,
        starts: asyncio.Semaphore,
        crash_loop: CrashLoop | None = None,
        events: RevisionEvents | None = None,
        outcome_interval: float = OUTCOME_INTERVAL,
    ) -> None:
        self.spec = spec
        self.key = spec.key
        self.desired = 0
        self.routed = False
        self.ready: list[Instance] = []
        self.healthy = DEPLOYING
        self.resources = DEPLOYING
        self._runner = runner
        self._gateway = gateway
        self._changed = changed
        self._cold_starts = cold_starts.labels(*spec.key)
        self._starts = starts
        self._starting = 0
        self._crashes = crash_loop or CrashLoop()
        self._events = events
        self._outcome_interval = outcome_interval
        self._outcomes: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping: set[Instance] = set()
        self._gave_up = False
        self.failures: Counter[str] = Counter()
        """Instances that failed to start or exited on their own, by reason
        (``ExitCode1``, ``OOMKilled``…), ever: ``/metrics`` counts them."""

    def set_routed(self, routed: bool) -> None:
        """Whether a route sends traffic here; an unrouted revision at zero lets go of its
        fork-server too, so that old revisions of a function do not pile up in memory."""
        self.routed = routed
        self._wake.set()

    def scale(self, desired: int) -> None:
        """Aim for ``desired`` instances (converges in the background)."""
        # Woken first: a cold start goes on at the loop's next turn, ahead of what the
        # change below sets off (the controllers' status writes).
        self._wake.set()
        if desired != self.desired:
            self.desired = desired
            self._changed()  # the Revision's desiredReplicas
        if self._task is None:
            self._task = supervise(
                f"instances of {self.key}", self._converge, on_failure=self._converge_failed
            )
        if self._outcomes is None and self._events is not None:
            self._outcomes = supervise(f"outcomes of {self.key}", self._tell_outcomes)

    async def close(self) -> None:
        """Stop every instance (the revision is gone, or the platform stops)."""
        self.desired = 0
        for task in (self._task, self._outcomes):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await asyncio.gather(*(self._retire(instance) for instance in list(self.ready)))
        await self._runner.retire(self.spec.key)
        self._gateway.forget_revision(self.key)

    async def _converge(self) -> None:
        while True:
            self._wake.clear()
            surplus = len(self.ready) - self.desired
            missing = self.desired - len(self.ready) - self._starting
            if surplus > 0:
                await asyncio.gather(*(self._retire(i) for i in self.ready[-surplus:]))
            elif missing > 0 and self._crashes.exhausted:
                self._give_up()
            elif missing > 0:
                if self._gave_up:  # a long healthy run reset the crash loop
                    self._gave_up = False
                    self._gateway.set_unavailable(self.key, None)
                if delay := self._crashes.delay:
                    await asyncio.sleep(delay)
                if missing == 1:  # a cold start: asked for now, not from a task to come
                    await self._start()
                else:
                    await asyncio.gather(*(self._start() for _ in range(missing)))
                continue
            if not self.routed and self.desired == 0 and not self.ready and not self._starting:
                await self._runner.retire(self.spec.key)
            if self.healthy.reason == Reason.SCALING_FAILED:  # a pass went through again
                self.healthy = _healthy(self.ready[0]) if self.ready else Report("True")
                self._changed()
            await self._wake.wait()

    async def _tell_outcomes(self) -> None:
        """Every ``outcome_interval``, say in the revision's log how many of its requests
        the gateway ended itself (504, 503, 502) since the last look."""
        before = Outcomes()
        while True:
            stats = self._gateway.stats(self.key)
            now = before if stats is None else _outcomes(stats)
            for line in outcome_lines(before, now, seconds=self._outcome_interval):
                self._tell("warning", line)
            before = now
            await asyncio.sleep(self._outcome_interval)

    def _give_up(self) -> None:
        """Stop starting instances: say so, with the last failure, once."""
        if self.healthy.reason == Reason.CRASH_LOOP_BACK_OFF:
            return
        last = self.resources if self.resources.status == "False" else self.healthy
        self.healthy = Report(
            "False",
            Reason.CRASH_LOOP_BACK_OFF,
            f"gave up after {self._crashes.failures} failed starts in a row; deploy again "
            f"(`unkai deploy`) or change the revision to try again. The last: "
            f"{last.reason}: {last.message}",
        )
        self._gave_up = True
        why = responses.unavailable(
            self.key.name, self.spec.configuration, self.key.namespace,
            Reason.CRASH_LOOP_BACK_OFF, self.healthy.message,
        )  # fmt: skip
        self._gateway.set_unavailable(self.key, why)
        self._tell("error", self.healthy.message)
        self._changed()

    def _tell(self, level: str, message: str, *, exc_info: BaseException | None = None) -> None:
        """Say ``message`` in the platform's log (with ``exc_info``'s traceback) and among
        the revision's own lines."""
        number = logging.getLevelName(level.upper())
        log.log(number, "revision %s: %s", self.key, message, exc_info=exc_info)
        if self._events is not None:
            self._events.write(level, message)

    def _converge_failed(self, error: BaseException, delay: float) -> None:
        message = f"managing instances failed: {type(error).__name__}: {error}"
        self.healthy = Report("False", Reason.SCALING_FAILED, f"{message}; again in {delay:.0f} s")
        self._changed()

    async def _start(self) -> None:
        self._starting += 1
        cold = not self.ready
        began = time.monotonic()
        try:
            async with self._starts:
                instance = await self._runner.start(self.spec)
        except RunnerError as error:
            self._crashes = self._crashes.after_exit(ran_for=0)
            self.failures[error.reason] += 1
            failed = Report("False", error.reason, error.message)
            if error.reason in PERMANENT:
                self.resources = failed
            else:
                self.healthy = failed
            self._tell("error", f"an instance failed to start: {error.reason}: {error.message}")
            self._changed()
            return
        except Exception as error:  # a bug or an OS error: report it, keep converging
            message = f"starting an instance failed: {type(error).__name__}: {error}"
            self._tell("error", message, exc_info=error)
            self._crashes = self._crashes.after_exit(ran_for=0)
            self.failures[Reason.INSTANCE_START_FAILED] += 1
            self.healthy = Report(
                "False", Reason.INSTANCE_START_FAILED, f"{type(error).__name__}: {error}"
            )
            self._changed()
            return
        finally:
            self._starting -= 1
        if cold:
            self._cold_starts.observe(time.monotonic() - began)
        self.ready.append(instance)
        instance.on_exit(lambda: self._exited(instance))
        instance.on_serving(self._publish)
        self._publish()
        self.resources = Report("True")
        self.healthy = _healthy(instance)
        self._changed()  # healthy, and one more of the Revision's actualReplicas

    async def _retire(self, instance: Instance) -> None:
        """Out of the gateway, drained, then stopped."""
        self._stopping.add(instance)
        if instance in self.ready:
            self.ready.remove(instance)
            self._publish()
        endpoint = _endpoint(instance)
        try:
            async with asyncio.timeout(instance.spec.grace_period):
                await self._gateway.drained(self.key, endpoint)
        except TimeoutError:
            log.warning("revision %s: %s still busy after the grace period", self.key, instance)
        await instance.stop()
        self._changed()

    def _exited(self, instance: Instance) -> None:
        if instance in self._stopping:
            self._stopping.discard(instance)
            return
        ended = instance.exit
        assert ended is not None
        if instance in self.ready:
            self.ready.remove(instance)
            self._publish()
        self._crashes = self._crashes.after_exit(ran_for=instance.uptime())
        self.failures[ended.reason] += 1
        self._tell(
            "error",
            f"instance {instance.id} exited ({ended.reason}: {ended.message.partition(';')[0]})"
            f" after {instance.uptime():.1f}s",
        )
        if not any(other.serving for other in self.ready):  # as Knative: only with none left
            self.healthy = Report("False", ended.reason, ended.message)
        self._changed()
        self._wake.set()

    def _publish(self) -> None:
        endpoints = [_endpoint(instance) for instance in self.ready if instance.serving]
        self._gateway.set_endpoints(self.key, endpoints)


def _outcomes(stats: RevisionStats) -> Outcomes:
    return Outcomes(stats.timeouts, stats.overloads, stats.unavailable, stats.upstream_failures)


class FailuresCollector(Collector):
    """``/metrics``' view of every revision's :attr:`RevisionInstances.failures`, read at
    scrape time (a revision's series go with it)."""

    def __init__(self, revisions: Callable[[], Iterable[RevisionInstances]]) -> None:
        self._revisions = revisions

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "unkai_revision_instance_failures",
            "Instances that failed to start or exited on their own, by revision and reason"
            " (ExitCodeN, OOMKilled, or the platform's reason for a start that failed).",
            labels=["namespace", "revision", "reason"],
        )
        for revision in list(self._revisions()):
            for reason, count in list(revision.failures.items()):
                family.add_metric([*revision.key, reason], count)
        yield family


def _healthy(instance: Instance) -> Report:
    """Healthy; with what of the sandbox does not hold, when something does not."""
    if instance.unisolated:
        return Report("True", Reason.NOT_ISOLATED, instance.unisolated)
    return Report("True")


def _endpoint(instance: Instance) -> Endpoint:
    """Where the gateway reaches ``instance``: its Unix socket when it has one."""
    path = instance.socket_path
    return Endpoint("127.0.0.1", instance.port, None if path is None else str(path))
