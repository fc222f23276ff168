"""What the throughput benchmarks share: free ports, waiting for a listener, and wrk.

wrk runs pinned to CPU 1 (``taskset``); its report is parsed into requests/s and the
p50 and p99 latencies in milliseconds. Any non-2xx response or socket error fails the
run: a throughput figure that includes errors would not mean what it says.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def wrk(
    url: str,
    *,
    connections: int,
    seconds: int,
    host: str | None = None,
    script: Path | None = None,
) -> dict[str, float]:
    """One wrk run on CPU 1: ``{"rps", "p50", "p99", "requests"}`` (latencies in ms)."""
    command = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    command.append("--latency")
    if host is not None:
        command += ["-H", f"Host: {host}"]
    if script is not None:
        command += ["-s", str(script)]
    text = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in text or "Socket errors" in text:
        raise RuntimeError(f"errors during the run:\n{text}")
    return {
        "rps": float(_find(r"Requests/sec:\s+([\d.]+)", text)),
        "p50": _ms(_find(r"50%\s+([\d.]+\w+)", text)),
        "p99": _ms(_find(r"99%\s+([\d.]+\w+)", text)),
        "requests": float(_find(r"(\d+) requests in", text)),
    }


def _find(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"no {pattern!r} in wrk output:\n{text}")
    return match.group(1)


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
