"""Cold start: scale from zero to the first response, fork-server vs plain process spawn.

Run by hand: ``.venv/bin/python benchmarks/cold_start.py [-n 30]``, and through the
real ``unkai up`` with ``--through-gateway`` (below).

For the hello ``http`` function (``benchmarks/functions/hello_http``, deployed as a
bundle), each round times one scale-from-zero: from asking the process runner for an
instance to the first 200 from a direct HTTP call to it (so the readiness probe is
inside the time, as it is for a request the activator holds), over the instance's
Unix socket where it has one (as the gateway does), else its loopback port. The
instance is then stopped, outside the time (that includes killing what is left in its
cgroup). The fork-server's zygote is started beforehand, as the data plane does when a
revision becomes active; a spawn has nothing to start before. Three ways run in the same
process, one after the other: forks in the sandbox with a cgroup each (the default where
the machine allows it), forks without (``isolate=False``), and spawns; p50/p95 in ms.
The forks are then broken down, straight on a zygote (``ForkServer``): from asking it
to fork to hearing the child's pid (*fork*), from there to the child's word that its
function has started (*child setup*), and from there to the status line of a first
``GET`` (*first byte*); and what the child cost up to then, which moves far less with
the machine's load than its wall time: CPU time (``/proc/PID/schedstat``) and minor
page faults (``/proc/PID/stat``: mostly copy-on-write copies of the zygote's pages).

``--through-gateway N`` measures what a client sees instead: ``unkai up`` (a process
of its own, sandbox on where the machine allows), ``N`` hello services (window 6 s, so
that they are back at zero ~10 s after their last request), then rounds of: wait
until every one is at zero, then one ``GET`` to each in turn through the gateway on a
fresh connection, timed from the connect to the status line. With ``--trace``, the
platform runs under ``cold_trace``'s profile hook and the script also prints when each
step of a cold request happened after its arrival at the gateway (p50 and min).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import cold_trace
import httpx2
from platform_client import Running, connection, platform

from unkai.platform.bundles import BundleStore, pack
from unkai.platform.runners import Instance, InstanceSpec, LogFiles, Mode, ProcessRunner
from unkai.platform.runners.forkserver import ForkServer

HELLO = Path(__file__).parent / "functions" / "hello_http"


async def cold_starts(
    mode: Mode, spec: InstanceSpec, *, isolate: bool, root: Path, rounds: int
) -> list[float]:
    """Milliseconds from ``start`` to the first 200, ``rounds`` times."""
    logs = LogFiles(root / "logs" / f"{mode}-{isolate}")
    runner = ProcessRunner(logs=logs, mode=mode, environments=root, isolate=isolate)
    if isolate and runner.gaps:
        print(f"(not isolated here: {'; '.join(runner.gaps)})")
    await runner.prepare(spec)
    times = []
    try:
        for _ in range(rounds):
            began = time.perf_counter()
            instance = await runner.start(spec)
            status = await first_get(instance)
            elapsed = time.perf_counter() - began
            assert status == 200, status
            times.append(elapsed * 1000)
            await instance.stop()
    finally:
        await runner.close()
    return times


def percentile(times: list[float], fraction: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def first_get(instance: Instance) -> int:
    """The status of one plain ``GET /`` (a bare socket: an HTTP client's own setup,
    such as its TLS context, would be timed too)."""
    if instance.socket_path is None:
        reader, writer = await asyncio.open_connection("127.0.0.1", instance.port)
    else:
        reader, writer = await asyncio.open_unix_connection(str(instance.socket_path))
    writer.write(b"GET / HTTP/1.1\r\nHost: instance\r\nConnection: close\r\n\r\n")
    status = int((await reader.readline()).split()[1])
    writer.close()
    await writer.wait_closed()
    return status


async def phases(bundle: Path, root: Path, rounds: int) -> list[tuple[float, ...]]:
    """Fork, child setup and first byte (ms) of ``rounds`` forks straight from a zygote
    (unsandboxed, no cgroup: the platform's own steps are in the totals above), and the
    child's CPU ms and minor faults until its first response."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    zygote = await ForkServer.start(bundle, env=env, log_path=root / "zygote.log", grace=5)
    times = []
    try:
        for number in range(rounds):
            path = root / f"{number}.sock"
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(str(path))
            listener.listen(64)
            log = os.open(root / "instances.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            began = time.perf_counter()
            forked = await zygote.fork(str(number), log=log, listener=listener.fileno())
            pid_heard = time.perf_counter()
            listener.close()
            os.close(log)
            await forked.started
            started = time.perf_counter()
            reader, writer = await asyncio.open_unix_connection(str(path))
            writer.write(b"GET / HTTP/1.1\r\nHost: instance\r\nConnection: close\r\n\r\n")
            assert (await reader.readline()).split()[1] == b"200"
            answered = time.perf_counter()
            writer.close()
            times.append(
                ((pid_heard - began) * 1e3, (started - pid_heard) * 1e3, (answered - started) * 1e3,
                 *child_cost(forked.pid))
            )  # fmt: skip
            await zygote.signal(str(number), signal.SIGKILL)
            await forked.returncode
    finally:
        await zygote.close()
    return times


@contextlib.contextmanager
def traced_platform(trace: Path, switch_interval: float | None) -> Iterator[Running]:
    """``unkai up`` in the foreground under ``cold_trace``'s hook; its stamps land in
    ``trace`` once it has stopped."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "UNKAI_DATA_DIR": home}
        command = [sys.executable, str(Path(__file__).with_name("cold_trace.py")), str(trace)]
        command += [] if switch_interval is None else [str(switch_interval)]
        command += ["up", "--api-port", "0", "--port", "0"]
        process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        try:
            running_file = Path(home) / "platform" / "running.json"
            deadline = time.monotonic() + 60
            while not running_file.exists():
                assert process.poll() is None, "unkai up exited while starting"
                assert time.monotonic() < deadline, "unkai up did not start in 60 s"
                time.sleep(0.05)
            running = json.loads(running_file.read_text())
            with httpx2.Client(**connection(Path(home))) as api:
                port = int(running["gateway_url"].rsplit(":", 1)[1])
                yield Running(Path(home), api, port, process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def child_cost(pid: int) -> tuple[float, int]:
    """CPU ms the process has run, and its minor page faults, so far."""
    cpu_ns = int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    faults = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[7])
    return cpu_ns / 1e6, faults


def through_gateway(
    services: int, rounds: int, trace: Path | None = None, switch_interval: float | None = None
) -> list[float]:
    """Client-side ms from connect to status line of a request to a service at zero."""
    window = {"autoscaling.knative.dev/window": "6s"}
    times = []
    started = platform() if trace is None else traced_platform(trace, switch_interval)
    with started as unkai:
        names = [f"cold-{number}" for number in range(services)]
        for name in names:
            unkai.deploy(name, HELLO, annotations=window)
        for name in names:
            unkai.wait_ready(name)
        for _ in range(rounds):
            deadline = time.monotonic() + 180
            while not at_zero(unkai, services):
                assert time.monotonic() < deadline, "the services did not scale to zero"
                time.sleep(0.5)
            for name in names:
                began = time.perf_counter()
                with socket.create_connection(("127.0.0.1", unkai.gateway_port)) as client:
                    host = f"{name}.default.localhost"
                    client.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                    assert client.recv(64).split()[1] == b"200"
                times.append((time.perf_counter() - began) * 1e3)
    return times


def at_zero(unkai: Running, services: int) -> bool:
    """Every service wanted at zero and without an instance, twice a tick apart (the
    gauges are published at the autoscaler's decisions, every 2 s)."""
    for look in range(2):
        if look:
            time.sleep(2.5)
        wanted = unkai.metric("unkai_autoscaler_desired_pods")
        if wanted != 0 or unkai.metric("unkai_autoscaler_ready_pods") != 0:
            return False
        if unkai.metric("unkai_gateway_ready_instances") != 0:
            return False
    return services > 0


def row(name: str, times: list[float]) -> str:
    figures = [statistics.median(times), percentile(times, 0.95), min(times), max(times)]
    return f"| {name} | " + " | ".join(f"{value:.1f}" for value in figures) + " |"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rounds", type=int, default=30)
    parser.add_argument("--through-gateway", type=int, metavar="SERVICES", default=0)
    parser.add_argument("--trace", action="store_true", help="with --through-gateway")
    parser.add_argument("--switch-interval", type=float, help="with --trace: the GIL's, in s")
    parser.add_argument("--phases-only", action="store_true", help="only the breakdown on a zygote")
    args = parser.parse_args()
    if args.through_gateway:
        with tempfile.TemporaryDirectory(prefix="unkai-cold-trace-") as tmp:
            trace = Path(tmp) / "trace.jsonl" if args.trace else None
            times = through_gateway(args.through_gateway, args.rounds, trace, args.switch_interval)
            print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
            print(f"zero to first byte through `unkai up`'s gateway, {len(times)} requests (ms)")
            print("| way | p50 | p95 | min | max |\n|---|---|---|---|---|")
            print(row("client view", times))
            if trace is not None:
                cold_trace.table(cold_trace.breakdown(trace))
        return
    with tempfile.TemporaryDirectory(prefix="unkai-cold-start-") as tmp:
        root = Path(tmp)
        store = BundleStore(root / "bundles")
        digest = store.put(pack(HELLO))
        spec = InstanceSpec(
            namespace="default",
            revision="hello-http-00001",
            configuration="hello-http",
            service="hello-http",
            bundle=store.path(digest),
            timeout_seconds=10,
        )
        print(f"scale from zero to the first 200, {args.rounds} rounds each (ms)")
        print("| mode | p50 | p95 | min | max |\n|---|---|---|---|---|")
        ways: list[tuple[str, Mode, bool]] = [
            ("fork, sandboxed", "fork", True),
            ("fork, isolate=False", "fork", False),
            ("spawn", "spawn", False),
        ]
        for name, mode, isolate in [] if args.phases_only else ways:
            times = await cold_starts(mode, spec, isolate=isolate, root=root, rounds=args.rounds)
            print(row(name, times))
        split = await phases(store.path(digest), root, args.rounds)
        names = ("fork", "child setup", "first byte", "child CPU ms", "child minor faults")
        for index, name in enumerate(names):
            print(row(f"phase: {name}", [phase[index] for phase in split]))
        print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    asyncio.run(main())
