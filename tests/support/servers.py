"""Serving a function folder with the real runtime, as a process on a loopback port.

``serve(directory)`` starts ``python -m unkai.runtime`` bound to 127.0.0.1, waits until
it answers (ready, or only listening), yields a :class:`RunningFunction` with its base
URL and its log, and stops it with SIGTERM at the end. The log (stderr, JSON lines)
goes to a file, so a chatty server never blocks on a full pipe.

The runtime is given port 0 and the test reads the port from the process's own
listening socket: a port picked beforehand could be taken by any other process on the
machine before the runtime binds it.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx2
import psutil

FUNCTIONS = Path(__file__).parents[1] / "functions"
RUNTIME = [sys.executable, "-m", "unkai.runtime"]


class Serve(Protocol):
    """Serve ``tests/functions/<case>`` (options as for :func:`serve`); see the fixtures."""

    def __call__(self, case: str, **options: Any) -> "RunningFunction": ...


@dataclass
class RunningFunction:
    """A runtime process serving one function directory."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def logs(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far (anything else on stderr is skipped)."""
        return json_lines(self.log_path.read_text())

    def wait_for_log(
        self, matches: Callable[[dict[str, Any]], bool], timeout: float = 10
    ) -> dict[str, Any]:
        """The first log line ``matches`` accepts, waiting for it to be written."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.logs():
                if matches(line):
                    return line
            time.sleep(0.05)
        raise AssertionError(f"no such log line in:\n{self.log_path.read_text()}")

    def rss(self) -> int:
        """Resident memory of the process, in bytes (Linux /proc)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM, then the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


def run_to_exit(
    directory: Path, *, env: Mapping[str, str] | None = None, timeout: float = 20
) -> subprocess.CompletedProcess[str]:
    """Run the runtime on ``directory`` when it is expected to exit by itself (errors)."""
    return subprocess.run(
        [*RUNTIME, str(directory), "--host", "127.0.0.1", "--port", "0"],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON log lines in ``text`` (anything else is skipped)."""
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


@contextmanager
def serve(
    directory: Path,
    *,
    env: Mapping[str, str] | None = None,
    wait: Literal["ready", "listening"] = "ready",
    address_from: Literal["flags", "env"] = "flags",
    timeout: float = 20,
    python_flags: tuple[str, ...] = (),
) -> Iterator[RunningFunction]:
    """Run the runtime on ``directory`` until the block ends.

    The loopback address is passed as ``--host``/``--port``, or as ``HOST``/``PORT``.
    ``python_flags`` go to the interpreter (``-S``: no site-packages, only PYTHONPATH).
    """
    address = {"HOST": "127.0.0.1", "PORT": "0"}
    flags = ["--host", "127.0.0.1", "--port", "0"] if address_from == "flags" else []
    with tempfile.TemporaryDirectory(prefix="unkai-runtime-") as tmp:
        log_path = Path(tmp) / "stderr.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, *python_flags, *RUNTIME[1:], str(directory), *flags],
                stdout=log,
                stderr=log,
                env={**os.environ, **(address if address_from == "env" else {}), **(env or {})},
            )
        try:
            deadline = time.monotonic() + timeout
            port = _listening_port(process, log_path, deadline)
            running = RunningFunction(f"http://127.0.0.1:{port}", process, log_path)
            _wait_until_up(running, wait, deadline)
            yield running
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _listening_port(process: subprocess.Popen[bytes], log_path: Path, deadline: float) -> int:
    """The port ``process`` listens on at 127.0.0.1, once it does."""
    while time.monotonic() < deadline:
        _fail_if_exited(process, log_path)
        try:
            connections = psutil.Process(process.pid).net_connections("tcp")
        except psutil.NoSuchProcess:  # it just exited: said on the next turn
            connections = []
        for connection in connections:
            if connection.status == psutil.CONN_LISTEN and connection.laddr.ip == "127.0.0.1":
                return int(connection.laddr.port)
        time.sleep(0.02)
    raise AssertionError(f"runtime not listening on 127.0.0.1:\n{log_path.read_text()}")


def _fail_if_exited(process: subprocess.Popen[bytes], log_path: Path) -> None:
    if process.poll() is not None:
        raise AssertionError(f"runtime exited with {process.returncode}:\n{log_path.read_text()}")


def _wait_until_up(running: RunningFunction, wait: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        _fail_if_exited(running.process, running.log_path)
        try:
            response = httpx2.get(running.url + "/health/readiness", timeout=2)
        except httpx2.TransportError:
            time.sleep(0.05)
            continue
        if wait == "listening" or response.status_code == 200:
            return
        time.sleep(0.05)
    raise AssertionError(f"runtime not {wait} in time:\n{running.log_path.read_text()}")
