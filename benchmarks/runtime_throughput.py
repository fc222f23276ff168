"""Runtime throughput: bare uvicorn vs the Unkai runtime (http hello, cloudevent echo).

Run by hand (needs wrk): ``.venv/bin/python benchmarks/runtime_throughput.py``.
Each server is pinned to CPU 0 and wrk to CPU 1, so they do not fight for a core;
results are printed as a Markdown table for docs/benchmarks.md. Besides requests/s,
each row has the server's CPU time per request (user + system, from ``/proc``, over the
measured run): on a machine other work shares, requests/s moves with what else runs,
while the CPU a request costs moves much less. A ``PYTHONPATH`` given
to the script reaches the servers (after this folder), so another checkout's ``src``
can be measured with the same script and functions.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from loadgen import free_port, wait_listening, wrk

HERE = Path(__file__).parent
PYTHON = sys.executable


def measure(
    command: list[str], port: int, *, connections: int, seconds: int, script: Path | None = None
) -> dict[str, float]:
    paths = [str(HERE), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in paths if path)}
    server = subprocess.Popen(
        ["taskset", "-c", "0", *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port)
        url = f"http://127.0.0.1:{port}/"
        wrk(url, connections=connections, seconds=2, script=script)  # warm-up
        before = cpu_seconds(server.pid)
        result = wrk(url, connections=connections, seconds=seconds, script=script)
        result["cpu_us"] = (cpu_seconds(server.pid) - before) / (result["rps"] * seconds) * 1e6
        return result
    finally:
        server.terminate()
        server.wait()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far, all its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--only",
        action="append",
        metavar="TEXT",
        help="only the runtime rows whose label has TEXT (repeatable; the bare row always runs)",
    )
    args = parser.parse_args()
    rows = []
    port = free_port()
    bare = [
        PYTHON,
        "-m",
        "uvicorn",
        "bare_asgi:app",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    rows.append(
        (
            "(a) bare uvicorn ASGI hello",
            measure(bare, port, connections=args.connections, seconds=args.seconds),
        )
    )
    for label, function, script in [
        ("(b) unkai runtime, http hello (async def)", "hello_http", None),
        ("(b') unkai runtime, http hello (plain def)", "hello_http_sync", None),
        ("(b'') unkai runtime, http hello (plain def, syncWorkers: 40)", "hello_http_pool", None),
        ("(c) unkai runtime, cloudevent echo", "ce_echo", HERE / "ce_post.lua"),
        ("(c') unkai runtime, http hello given (c)'s POST", "hello_http", HERE / "ce_post.lua"),
    ]:
        if args.only and not any(text in label for text in args.only):
            continue
        port = free_port()
        command = [
            PYTHON,
            "-m",
            "unkai.runtime",
            str(HERE / "functions" / function),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        rows.append(
            (
                label,
                measure(
                    command, port, connections=args.connections, seconds=args.seconds, script=script
                ),
            )
        )
    base = rows[0][1]["rps"]
    print(f"wrk -t1 -c{args.connections} -d{args.seconds}s, server on CPU 0, wrk on CPU 1\n")
    print("| server | req/s | × bare | p50 ms | p99 ms | server CPU µs/req |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, result in rows:
        print(
            f"| {label} | {result['rps']:,.0f} | {result['rps'] / base:.2f} | "
            f"{result['p50']:.2f} | {result['p99']:.2f} | {result['cpu_us']:.0f} |"
        )


if __name__ == "__main__":
    main()
