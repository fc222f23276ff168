"""Footprint: `unkai up` RSS and PSS idle, and with 100 services deployed and scaled to zero.

Two measures, each one command:

* ``.venv/bin/python benchmarks/footprint.py --idle [--runs 3] [--before SRC]``: the
  platform with nothing deployed, as ``unkai up --detach`` leaves it, once memory has
  stopped moving: a first start (fresh data dir: the API's certificate is made) and a
  restart on the same data dir, ``--runs`` times each; then what it imported, from
  ``python -X importtime`` of one more start: the packages that cost the most to import,
  with what each costs alone in a fresh interpreter. ``--before SRC`` (a ``src`` folder
  of another tree, such as ``git archive main src``) measures that tree too, taking
  turns with this one, so that both see the same machine load.
* ``.venv/bin/python benchmarks/footprint.py [--count 100]``: ``count`` hello services;
  the autoscaler's stable window is Knative's 60 s, so the run waits about two minutes
  for scale to zero.

Memory is reported for the platform process alone and with its children (the
fork-servers kept per revision so that the next cold start is a fork), as RSS and as
PSS (from /proc/PID/smaps_rollup): PSS shares each page among the processes that map
it, so it adds up to what the machine spends, where RSS counts a page a fork-server
shares with its instances once in each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import procmem
from platform_client import Running, platform

HERE = Path(__file__).parent
PLATFORM = ("unkai.platform", "unkai.cli")
"""What ``unkai up`` is: its groups nest every other import, so they are left out of the
table of import costs."""
BARE_RSS = "import re; print(re.search(r'Rss: *(\\d+)', open('/proc/self/smaps_rollup').read())[1])"


def memory(unkai: Running) -> str:
    """``| platform RSS | platform PSS | all RSS | all PSS |`` cells."""
    alone, family = [unkai.pid], procmem.family(unkai.pid)
    cells = [procmem.mib(pids, field) for pids in (alone, family) for field in ("Rss", "Pss")]
    return " | ".join(f"{value:,.0f} MiB" for value in cells)


def services(count: int) -> None:
    with platform() as unkai:
        procmem.settled(unkai.pid)  # start-up work done
        idle = memory(unkai)
        for number in range(count):
            unkai.deploy(f"svc-{number:03d}", HERE / "functions" / "hello_http")
        for number in range(count):
            unkai.wait_ready(f"svc-{number:03d}", timeout=600)
        deployed = memory(unkai)
        deadline = time.monotonic() + 600
        while unkai.metric("unkai_autoscaler_ready_pods") > 0 and time.monotonic() < deadline:
            time.sleep(1)
        zero = memory(unkai)
    print(f"`unkai up`, {count} hello services (one bundle), process runner with fork-servers\n")
    print("| state | platform RSS | platform PSS | with children RSS | with children PSS |")
    print("|---|---:|---:|---:|---:|")
    print(f"| idle, nothing deployed | {idle} |")
    print(f"| {count} services, one instance each | {deployed} |")
    print(f"| {count} services scaled to zero | {zero} |")


# --- idle ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    """One line of ``-X importtime``: a module, its own and its cumulative import time
    (microseconds), and the module whose import imported it (``None``: the program)."""

    name: str
    self_us: int
    cumulative_us: int
    parent: str | None


def parse_importtime(log: str) -> list[Imported]:
    """The modules an ``-X importtime`` log lists. It prints a module after the modules
    its import imported, one indent (two spaces) deeper than it: a module's parent is
    the next shallower line below it."""
    rows: list[tuple[int, str, int, int]] = []
    for line in log.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        rows.append((depth, name.strip(), int(self_us), int(cumulative)))
    parsed: list[Imported] = []
    above: list[tuple[int, str]] = []  # the enclosing imports, outermost first
    for depth, name, self_us, cumulative in reversed(rows):
        while above and above[-1][0] >= depth:
            above.pop()
        parsed.append(Imported(name, self_us, cumulative, above[-1][1] if above else None))
        above.append((depth, name))
    return parsed[::-1]


def group(module: str) -> str:
    """What a cut would remove: a third-party or standard package, or one of Unkai's
    layers (``unkai.runtime``), or one of the platform's parts (``unkai.platform.eventing``)."""
    parts = module.split(".")
    if parts[0] != "unkai" or len(parts) == 1:
        return parts[0]
    return ".".join(parts[:3] if parts[1] == "platform" and len(parts) > 2 else parts[:2])


@dataclass
class Cost:
    group: str
    modules: int = 0
    self_us: int = 0
    cumulative_us: int = 0  # over the imports that entered this group from outside it
    entry: str = ""  # the largest such import
    via: str = ""  # and the module that made it
    entry_us: int = 0


def costs(imported: list[Imported]) -> list[Cost]:
    """Import cost per :func:`group`, the most expensive (cumulative, as importtime counts
    it: with what it imports) first."""
    by_group: dict[str, Cost] = {}
    for row in imported:
        cost = by_group.setdefault(group(row.name), Cost(group(row.name)))
        cost.modules += 1
        cost.self_us += row.self_us
        if row.parent is None or group(row.parent) != cost.group:
            cost.cumulative_us += row.cumulative_us
            if row.cumulative_us > cost.entry_us:
                cost.entry, cost.entry_us = row.name, row.cumulative_us
                cost.via = row.parent or "(run time)"
    return sorted(by_group.values(), key=lambda cost: -cost.cumulative_us)


def alone_rss(modules: list[str], env: dict[str, str]) -> list[float]:
    """MiB of RSS that importing each of ``modules`` adds to a bare interpreter (what it
    and everything it imports cost when nothing else is loaded: an upper bound of what
    taking it off the idle path saves)."""

    def rss(code: str) -> float:
        command = [sys.executable, "-c", f"{code}\n{BARE_RSS}"]
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        return int(result.stdout) / 1024

    bare = rss("pass")
    return [rss(f"import {module}") - bare for module in modules]


def idle_starts(env: dict[str, str]) -> list[dict[str, int]]:
    """Settled smaps_rollup (and thread count) of a first start and of a restart."""
    figures = []
    with tempfile.TemporaryDirectory() as home:
        for _ in ("first start", "restart"):
            with platform(env=env, data_dir=Path(home)) as unkai:
                rollup = procmem.settled(unkai.pid)
                rollup["Threads"] = procmem.threads(unkai.pid)
                figures.append(rollup)
    return figures


def import_log(env: dict[str, str]) -> str:
    """What ``-X importtime`` wrote in the log of a detached ``unkai up``, at idle. The
    launching ``unkai up --detach`` and ``unkai down`` report their own imports on
    stderr too: that goes to a file, and what else they said is printed."""
    with tempfile.TemporaryFile("w+") as launcher, _stderr_to(launcher):
        try:
            with platform(env={**env, "PYTHONPROFILEIMPORTTIME": "1"}) as unkai:
                procmem.settled(unkai.pid)
                return (unkai.data_dir / "platform" / "unkai.log").read_text()
        finally:
            launcher.seek(0)
            said = [line for line in launcher if not line.startswith("import time:")]
            print("".join(said), end="", file=sys.stderr)


@contextmanager
def _stderr_to(file: IO[str]) -> Iterator[None]:
    """File descriptor 2 (which child processes inherit) to ``file`` meanwhile."""
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(file.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def tree_env(source: Path | None) -> dict[str, str]:
    """The environment that runs the Unkai of ``source`` (``None``: this checkout's)."""
    env = dict(os.environ)
    if source is None:
        return env
    env["PYTHONPATH"] = os.pathsep.join([str(source), *filter(None, [env.get("PYTHONPATH")])])
    where = subprocess.run([sys.executable, "-c", "import unkai; print(unkai.__file__)"],
                           env=env, capture_output=True, text=True, check=True).stdout  # fmt: skip
    if not Path(where.strip()).is_relative_to(source.resolve()):
        raise SystemExit(f"{source}: Unkai is imported from {where.strip()} instead")
    return env


def idle(runs: int, before: Path | None, top: int) -> None:
    trees = {"this tree": tree_env(None)}
    if before is not None:
        trees = {"before": tree_env(before.resolve()), **trees}
    print("`unkai up --detach`, nothing deployed, once RSS has stopped moving (1 s within 64 KiB)")
    print(f"on {os.cpu_count()} cores; load average (1 min) with each row\n")
    print("| tree | start | RSS | PSS | PSS anon | PSS file | threads | load |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    seen: dict[tuple[str, str], list[dict[str, int]]] = defaultdict(list)
    for _ in range(runs):
        for tree, env in trees.items():
            for start, rollup in zip(("first", "restart"), idle_starts(env), strict=True):
                seen[tree, start].append(rollup)
                print(f"| {tree} | {start} | {_row(rollup)} | {os.getloadavg()[0]:.1f} |")
    for (tree, start), rollups in seen.items():
        median = {
            field: int(statistics.median(rollup[field] for rollup in rollups))
            for field in rollups[0]
        }
        print(f"| **{tree}, median of {len(rollups)}** | {start} | {_row(median)} | |")
    for tree, env in trees.items():
        imported = parse_importtime(import_log(env))
        cuttable = [cost for cost in costs(imported) if not cost.group.startswith(PLATFORM)][:top]
        alone = alone_rss([cost.entry for cost in cuttable], env)
        print(f"\n{tree}: {len(imported)} modules imported at idle. The {top} groups that took")
        print("longest to import, outside `unkai up`'s own parts (cumulative, as `-X importtime`")
        print("counts: with what they imported), and the RSS their largest import adds alone:\n")
        print("| group | modules | import ms | largest import | imported by | alone RSS |")
        print("|---|---:|---:|---|---|---:|")
        for cost, rss in zip(cuttable, alone, strict=True):
            print(f"| {cost.group} | {cost.modules} | {cost.cumulative_us / 1000:,.0f} | "
                  f"{cost.entry} | {cost.via} | {rss:.1f} MiB |")  # fmt: skip


def _row(rollup: dict[str, int]) -> str:
    cells = [rollup[field] / 2**20 for field in ("Rss", "Pss", "Pss_Anon", "Pss_File")]
    return " | ".join(f"{value:.1f} MiB" for value in cells) + f" | {rollup['Threads']}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--idle", action="store_true", help="idle figures and import costs")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", type=Path, help="a src folder to measure too, for --idle")
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    if args.idle:
        idle(args.runs, args.before, args.top)
    else:
        services(args.count)


if __name__ == "__main__":
    main()
