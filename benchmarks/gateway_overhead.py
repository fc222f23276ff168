"""Gateway overhead, measured on the product: a real `unkai up`, its hello instance
loaded directly and through the gateway, nginx and HAProxy, in the same run.

Run by hand (needs wrk; nginx and HAProxy rows are skipped, with the reason, where they
are not installed): ``.venv/bin/python benchmarks/gateway_overhead.py``.

What it does: starts ``unkai up --detach`` (its own data dir, free ports) with the
sandbox off (``--no-isolate``), so that the instance listens on a loopback port as well
as on the Unix socket the gateway reaches it by: wrk speaks only TCP, and the "direct"
rows are wrk to that port. It deploys the hello function with min-scale = max-scale = 1
(one instance, which stays while the direct rows bypass the autoscaler's meter) and pins
that instance (every thread) and its fork-server to CPU 0. The platform, nginx (one
process: ``master_process off``, one worker), HAProxy (``nbthread 1``) and wrk run on
CPU 1: each proxy placed as the gateway is, each keeping keep-alive connections to the
same Unix socket. Every round loads each path at every concurrency, a warm-up then
``--seconds`` of wrk, so ratios within a round compare like with like on a shared
machine. Besides requests/s and latency it prints each proxy's CPU time per request (its
own user + system time over the run, from /proc, and the two apart: the system part is
the socket calls every proxy makes, the user part its own code), the instance's
likewise (a proxy that reuses fewer connections can save the instance work), and the
memory of the platform (RSS and PSS from /proc/PID/smaps_rollup) idle, before
anything is deployed, and after the load. Each row ends with the 1-minute load average
as the row finished. Before the load it prints the platform's CPU time per second with
hello deployed and no request (probes, ticks, sweeps): part of every per-request
figure, the more so the fewer the requests per second.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import peers
import procmem
import psutil
from loadgen import free_port, wait_listening, wrk
from platform_client import Running, platform

HERE = Path(__file__).parent
HOST = "hello.default.localhost"
ONE_INSTANCE = {"autoscaling.knative.dev/min-scale": "1", "autoscaling.knative.dev/max-scale": "1"}


@dataclass(frozen=True)
class Target:
    name: str
    port: int
    pid: int | None  # the proxy's process, whose CPU time per request is reported


@dataclass(frozen=True)
class Instance:
    pid: int
    port: int
    socket: str


def find_instance(platform_pid: int, timeout: float = 30) -> Instance:
    """The instance below the platform: the process listening on a loopback TCP port,
    with the Unix socket the gateway reaches it by."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in psutil.Process(platform_pid).children(recursive=True):
            tcp = [c for c in process.net_connections("tcp") if c.status == psutil.CONN_LISTEN]
            unix = [c.laddr for c in process.net_connections("unix") if c.laddr]
            if tcp and unix:
                return Instance(process.pid, tcp[0].laddr.port, str(unix[0]))
        time.sleep(0.1)
    raise RuntimeError("no instance listening under the platform")


def pin(pid: int, cpu: int) -> None:
    """Every thread of ``pid`` to ``cpu``."""
    subprocess.run(["taskset", "-a", "-p", "-c", str(cpu), str(pid)], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def cpu_seconds(pid: int | None) -> tuple[float, float]:
    """The process's user and system seconds so far (all its threads)."""
    if pid is None:
        return 0.0, 0.0
    times = psutil.Process(pid).cpu_times()
    return times.user, times.system


@contextmanager
def proxies(instance: Instance, root: Path) -> Iterator[list[Target]]:
    """nginx and HAProxy in front of the instance's Unix socket, where installed."""
    started: list[subprocess.Popen[bytes]] = []
    targets: list[Target] = []
    try:
        for name in ("nginx", "haproxy"):
            port = free_port()
            process = peers.start(name, socket=instance.socket, port=port, root=root, cpu=1)
            if isinstance(process, str):
                print(f"(skipped: {process})")
                continue
            started.append(process)
            wait_listening(port)
            targets.append(Target(name, port, process.pid))
        yield targets
    finally:
        for process in started:
            process.terminate()
            process.wait()


def measure(
    unkai: Running, instance: Instance, peer_targets: list[Target], args: argparse.Namespace
) -> None:
    targets = [
        Target("direct", instance.port, None),
        *peer_targets,
        Target("gateway", unkai.gateway_port, unkai.pid),
    ]
    print(
        "| round | c | path | req/s | × direct | × nginx | p50 / p99 ms "
        "| proxy CPU µs/req (user + system) | instance CPU µs/req | load |"
    )
    print("|---:|---:|---|---:|---:|---:|---|---:|---:|---:|")
    for round_number in range(1, args.rounds + 1):
        for connections in args.connections:
            results: dict[str, dict[str, float]] = {}
            for target in targets:
                url = f"http://127.0.0.1:{target.port}/"
                wrk(url, connections=connections, seconds=2, host=HOST)  # warm-up
                before = cpu_seconds(target.pid), sum(cpu_seconds(instance.pid))
                run = wrk(url, connections=connections, seconds=args.seconds, host=HOST)
                after = cpu_seconds(target.pid)
                served = sum(cpu_seconds(instance.pid)) - before[1]
                results[target.name] = run
                nginx = results.get("nginx")
                per = 1e6 / run["requests"]
                user, system = (after[0] - before[0][0]) * per, (after[1] - before[0][1]) * per
                cpu = (
                    "" if target.pid is None else f"{user + system:.0f} ({user:.0f} + {system:.0f})"
                )
                print(
                    f"| {round_number} | {connections} | {target.name} | {run['rps']:,.0f} "
                    f"| {run['rps'] / results['direct']['rps']:.2f} "
                    f"| {'' if nginx is None else format(run['rps'] / nginx['rps'], '.2f')} "
                    f"| {run['p50']:.3f} / {run['p99']:.3f} "
                    f"| {cpu} | {served * per:.0f} | {os.getloadavg()[0]:.1f} |",
                    flush=True,
                )


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 32])
    parser.add_argument(
        "--container-concurrency",
        type=int,
        default=0,
        help="the hello's containerConcurrency: above 0, the gateway's breaker keeps at "
        "most that many requests (so instance connections) busy on the instance",
    )
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})  # the platform (and all it starts) inherits CPU 1
    with platform("--no-isolate") as unkai, tempfile.TemporaryDirectory() as root:
        time.sleep(2)  # let start-up work finish before reading idle memory
        idle = procmem.rollup(unkai.pid)
        print(f"platform idle: RSS {mib(idle['Rss'])}, PSS {mib(idle['Pss'])}")
        unkai.deploy("hello", HERE / "functions" / "hello_http", annotations=ONE_INSTANCE,
                     concurrency=args.container_concurrency)  # fmt: skip
        unkai.wait_ready("hello")
        instance = find_instance(unkai.pid)
        for pid in procmem.family(unkai.pid)[1:]:
            pin(pid, 0)  # the fork-server and the instance
        before, started = sum(cpu_seconds(unkai.pid)), time.monotonic()
        time.sleep(args.seconds)  # no request: what the platform spends on its own
        idle_rate = (sum(cpu_seconds(unkai.pid)) - before) / (time.monotonic() - started)
        print(f"platform CPU with hello deployed and no requests: {idle_rate * 1e3:.1f} ms/s")
        with proxies(instance, Path(root)) as peer_targets:
            measure(unkai, instance, peer_targets, args)
            loaded = procmem.rollup(unkai.pid)
            print(f"\nplatform after the load: RSS {mib(loaded['Rss'])}, PSS {mib(loaded['Pss'])}")
            for target in peer_targets:
                assert target.pid is not None
                memory = procmem.rollup(target.pid)
                print(f"{target.name}: RSS {mib(memory['Rss'])}, PSS {mib(memory['Pss'])}")


if __name__ == "__main__":
    main()
