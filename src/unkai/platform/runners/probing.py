"""Probes as a kubelet runs them: what a probe is, when it is due, what its results mean.

Pure: a :class:`Probe` is read from a container's ``readinessProbe`` or
``livenessProbe``; :class:`ProbeState` folds results into the kubelet's verdict
(``successThreshold`` consecutive passes make it pass, ``failureThreshold`` consecutive
failures make it fail; readiness starts failed, liveness passed); :func:`next_due` says
when the next try is due, with time passed in. ``prober`` is the loop around them.

``periodSeconds: 0`` on a readiness probe is Knative's aggressive startup probing: the
start probe tries every 10 ms (``probe.until_ready``) and, once the instance serves,
the probe runs every second with the kubelet's default thresholds, as Knative's
queue-proxy rewrites it. A liveness probe's 0 is the kubelet's default of 10 s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

HANDLERS: Final = ("httpGet", "tcpSocket", "exec", "grpc")
DEFAULT_PERIOD: Final = 10.0
AGGRESSIVE_AFTER_START: Final = 1.0
DEFAULT_TIMEOUT: Final = 1.0
DEFAULT_FAILURES: Final = 3

Handler = Literal["httpGet", "tcpSocket", "exec", "grpc"]


@dataclass(frozen=True)
class Probe:
    """One probe of an instance. ``path`` is for ``httpGet``, ``command`` for ``exec``,
    ``service`` for ``grpc``; the port is always the instance's serving port (Knative
    allows no other)."""

    handler: Handler
    path: str = "/"
    headers: tuple[tuple[str, str], ...] = ()
    command: tuple[str, ...] = ()
    service: str = ""
    initial_delay: float = 0.0
    period: float = DEFAULT_PERIOD
    timeout: float = DEFAULT_TIMEOUT
    success_threshold: int = 1
    failure_threshold: int = DEFAULT_FAILURES
    aggressive: bool = False

    def describe(self) -> str:
        """How the kubelet names it in an event (``http-get /healthz``, ``exec [cat x]``)."""
        if self.handler == "httpGet":
            return f"http-get {self.path}"
        if self.handler == "exec":
            return f"exec {list(self.command)}"
        return "tcp-socket" if self.handler == "tcpSocket" else f"grpc {self.service!r}"


def parse(probe: Mapping[str, Any] | None, *, readiness: bool) -> Probe | None:
    """The probe a (validated, defaulted) container field describes, or ``None``."""
    if not probe:
        return None
    handler: Handler | None = next((h for h in HANDLERS if h in probe), None)
    if handler is None:
        return None
    action = probe.get(handler) or {}
    period = float(probe.get("periodSeconds") or 0)
    aggressive = readiness and period == 0
    if period == 0:
        period = AGGRESSIVE_AFTER_START if aggressive else DEFAULT_PERIOD
    return Probe(
        handler=handler,
        path=str(action.get("path") or "/"),
        headers=tuple(
            (str(h.get("name", "")), str(h.get("value", "")))
            for h in action.get("httpHeaders") or []
        ),
        command=tuple(str(part) for part in action.get("command") or ()),
        service=str(action.get("service") or ""),
        initial_delay=float(probe.get("initialDelaySeconds") or 0),
        period=period,
        timeout=float(probe.get("timeoutSeconds") or DEFAULT_TIMEOUT),
        success_threshold=int(probe.get("successThreshold") or 1),
        failure_threshold=int(probe.get("failureThreshold") or DEFAULT_FAILURES),
        aggressive=aggressive,
    )


@dataclass(frozen=True)
class ProbeState:
    """The kubelet's verdict on one probe and the run of equal results behind it."""

    passing: bool
    successes: int = 0
    failures: int = 0
    last_try: float | None = None

    @classmethod
    def readiness(cls) -> ProbeState:
        return cls(passing=False)

    @classmethod
    def liveness(cls) -> ProbeState:
        return cls(passing=True)

    def after(self, probe: Probe, passed: bool, *, now: float) -> ProbeState:
        """The state once a try at ``now`` passed or failed."""
        if passed:
            successes = self.successes + 1
            passing = self.passing or successes >= probe.success_threshold
            return replace(self, passing=passing, successes=successes, failures=0, last_try=now)
        failures = self.failures + 1
        passing = self.passing and failures < probe.failure_threshold
        return replace(self, passing=passing, successes=0, failures=failures, last_try=now)


def next_due(probe: Probe, state: ProbeState, *, started: float) -> float:
    """When the next try is due: ``initialDelaySeconds`` after the start, then every
    ``periodSeconds`` after the previous try."""
    if state.last_try is None:
        return started + probe.initial_delay
    return state.last_try + probe.period
