"""An in-process trace of cold requests through ``unkai up``, without tracing code in it.

``python benchmarks/cold_trace.py TRACE_FILE [SWITCH_INTERVAL] up [unkai up's options]``
runs the real
``unkai up`` in the foreground with a profile hook (``sys.setprofile`` and
``threading.setprofile``, so the gateway's thread too) that stamps, with
``time.perf_counter``, each call of the functions in :data:`STEPS`: the request's
arrival at the gateway, the poke, the autoscaler's decision, the runner's steps, the
zygote's answers, the instance's word that it started, the endpoints reaching the
gateway, the upstream connection, the first byte back and out. At exit the stamps go
to ``TRACE_FILE`` (JSON lines); :func:`breakdown` turns them into milliseconds after
each cold request's arrival. ``cold_start.py --through-gateway N --trace`` does both.
``SWITCH_INTERVAL`` (seconds, ``sys.setswitchinterval``) is for trying how long the
gateway's thread waits for the GIL while the main thread works, at each hop between
the two loops (5 ms at most by default).

Why a profile hook rather than stamps in the code: the request path stays as it is
when not measured. The hook costs every Python call of the platform a C-to-Python
call (~0.1-0.3 µs), so traced figures are a little above untraced ones; the steps'
order and their gaps are what it is for. The instance (a fork of the zygote, another
process) is seen from the platform's side: its pid heard, its started byte, its
first byte.
"""

from __future__ import annotations

import atexit
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import CodeType, FrameType
from typing import Any, Final

# (label, module, qualified name): the steps, in the order a cold request meets them.
STEPS: Final = (
    ("arrives", "unkai.platform.gateway.protocol", "ClientConnection.data_received"),
    ("held, poke sent", "unkai.platform.gateway.thread", "ThreadedGateway._cold"),
    ("poke heard (main loop)", "unkai.platform.gateway.thread", "ThreadedGateway._poke_now"),
    ("autoscaler decides", "unkai.platform.autoscaler.loop", "Autoscaler._step"),
    ("instances.scale", "unkai.platform.instances", "RevisionInstances.scale"),
    ("instances._start", "unkai.platform.instances", "RevisionInstances._start"),
    ("runner.start", "unkai.platform.runners.process", "ProcessRunner._start"),
    ("cgroup made", "unkai.platform.runners.process", "ProcessRunner._group"),
    ("runner._fork", "unkai.platform.runners.process", "ProcessRunner._fork"),
    ("zygote asked", "unkai.platform.runners.forkserver", "ForkServer._send"),
    ("fork heard", "unkai.platform.runners.forkserver", "ForkServer._dispatch"),
    ("started byte", "unkai.platform.runners.forkserver", "_started.<locals>.readable"),
    ("published", "unkai.platform.instances", "RevisionInstances._publish"),
    ("endpoints at gateway", "unkai.platform.gateway.activator", "RevisionThrottle.set_endpoints"),
    ("dispatched", "unkai.platform.gateway.exchange", "Exchange.dispatch"),
    ("request sent", "unkai.platform.gateway.exchange", "Exchange._attach"),
    ("first byte in", "unkai.platform.gateway.upstream", "UpstreamConnection.data_received"),
    ("first byte out", "unkai.platform.gateway.exchange", "Exchange._started"),
)
# Stamped when they return rather than when called.
ON_RETURN: Final = frozenset({"cgroup made"})


def _code(module: str, qualname: str) -> CodeType:
    __import__(module)
    found: Any = sys.modules[module]
    parts = qualname.split(".")
    if "<locals>" in parts:  # a nested function: its code is a constant of its parent's
        index = parts.index("<locals>")
        parent: CodeType = _code(module, ".".join(parts[:index]))
        name = parts[index + 1]
        return next(c for c in parent.co_consts if isinstance(c, CodeType) and c.co_name == name)
    for part in parts:
        found = getattr(found, part)
    code: CodeType = found.__code__
    return code


def install(path: Path) -> None:
    """Stamp every step from now on, in every thread; write the stamps at exit."""
    calls = {_code(module, name): label for label, module, name in STEPS if label not in ON_RETURN}
    returns = {_code(module, name): label for label, module, name in STEPS if label in ON_RETURN}
    stamps: list[tuple[str, float]] = []
    clock = time.perf_counter

    def hook(frame: FrameType, event: str, arg: object) -> None:
        if event == "call":
            label = calls.get(frame.f_code)
        elif event == "return":
            label = returns.get(frame.f_code)
        else:
            return
        if label is not None:
            stamps.append((label, clock()))

    def dump() -> None:
        with path.open("w") as out:
            for label, stamp in stamps:
                out.write(json.dumps([label, stamp]) + "\n")

    atexit.register(dump)
    sys.setprofile(hook)
    threading.setprofile(hook)


def breakdown(path: Path) -> list[dict[str, float]]:
    """Per cold request (an arrival followed by a fork), ms after arrival of each step's
    first stamp (an arrival that found an instance ready is not a cold start)."""
    stamps = [tuple(json.loads(line)) for line in path.read_text().splitlines()]
    cold = []
    for index, (label, began) in enumerate(stamps):
        if label != "arrives":
            continue
        seen: dict[str, float] = {}
        for later, stamp in stamps[index + 1 :]:
            if later == "arrives":
                break
            seen.setdefault(later, (stamp - began) * 1e3)
            if later == "first byte out":
                break
        if "fork heard" in seen and "first byte out" in seen:
            cold.append(seen)
    return cold


def table(cold: list[dict[str, float]], print_: Callable[[str], None] = print) -> None:
    """Each step's p50 and min over the cold requests, ms after arrival."""
    print_("| step | p50 ms after arrival | min | requests |\n|---|---:|---:|---:|")
    for label, _, _ in STEPS[1:]:
        values = [request[label] for request in cold if label in request]
        if values:
            figures = f"{statistics.median(values):.2f} | {min(values):.2f} | {len(values)}"
            print_(f"| {label} | {figures} |")


if __name__ == "__main__":
    install(Path(sys.argv[1]))
    rest = sys.argv[2:]
    if rest[0] != "up":
        sys.setswitchinterval(float(rest.pop(0)))
    from unkai.cli.main import main

    sys.argv = ["unkai", *rest]
    main()
