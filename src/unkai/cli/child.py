"""The function process of ``unkai run``: its port, its environment, its lifetime.

The child is ``python -m unkai.runtime`` in a session of its own, so a terminal's
Ctrl-C reaches ``unkai run`` only, and ``Child.stop`` sends it one SIGTERM: the
function drains once (the runtime takes a second signal as "exit now"). Its log is
relayed to stderr, and its ``function loaded`` line tells which signature the
runtime found.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2

from unkai.api import funcyaml
from unkai.build import environments
from unkai.cli import console
from unkai.runtime import lifeline

START_TIMEOUT = 60.0
STOP_MARGIN = 10.0  # beyond the function's grace period: time for its stop()
LOAD_LINE_TIMEOUT = 5.0  # a ready runtime has written it already
DEFAULT_PORT = 8080


def pick_port(host: str, requested: int | None) -> int:
    """The requested port, which must be free; without one, 8080 if free, else any."""
    if requested is not None:
        try:
            return _probe(host, requested)
        except OSError as error:
            raise console.Failure(
                f"cannot listen on {host} port {requested}: {error.strerror} "
                "(leave out --port to get a free one)"
            ) from None
    with contextlib.suppress(OSError):
        return _probe(host, DEFAULT_PORT)
    try:
        return _probe(host, 0)
    except OSError as error:
        raise console.Failure(f"cannot listen on {host}: {error.strerror}") from None


def _probe(host: str, port: int) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As servers bind: a port whose old connections linger in TIME-WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        return int(probe.getsockname()[1])


def prepare_environment(directory: Path, spec: funcyaml.FuncSpec) -> environments.Environment:
    """The function's requirements, installed once and then reused from the cache."""
    lines = spec.requirement_lines(directory)
    cached = environments.lookup(lines, base_dir=directory)
    if cached is not None:
        return cached
    with console.err.status(f"Installing {len(lines)} requirement(s) for {spec.name}…"):
        return environments.prepare(lines, base_dir=directory)


class Child:
    """One runtime process: its log relayed to stderr, its detected signature noted."""

    def __init__(self, process: subprocess.Popen[bytes], *, grace: float) -> None:
        self.process = process
        self.signature: str | None = None
        self.loaded = threading.Event()
        self._grace = grace
        self._relay = threading.Thread(target=self._relay_log, daemon=True)
        self._relay.start()

    def _relay_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with contextlib.suppress(OSError):  # keep draining: a full pipe blocks the child
                sys.stderr.buffer.write(line)
                sys.stderr.buffer.flush()
            if not self.loaded.is_set():
                self._learn(line)
        self.loaded.set()

    def _learn(self, line: bytes) -> None:
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and entry.get("message") == "function loaded":
                self.signature = entry.get("signature")
                self.loaded.set()

    def wait_ready(self, url: str) -> None:
        """Poll ``/health/readiness`` until 200; fail fast if the process ends."""
        deadline = time.monotonic() + START_TIMEOUT
        with httpx2.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if (ended := self.ended()) is not None:
                    raise console.Failure(f"the function {ended}")
                with contextlib.suppress(httpx2.TransportError):
                    if client.get(f"{url}/health/readiness").status_code == 200:
                        self.loaded.wait(LOAD_LINE_TIMEOUT)
                        return
                time.sleep(0.02)
        raise console.Failure(f"the function was not ready after {START_TIMEOUT:.0f}s")

    def ended(self) -> str | None:
        """How the process ended (and it is reaped), or ``None`` while it runs."""
        code = self.process.poll()
        if code is None or code >= 0:
            return None if code is None else f"exited with code {code}"
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
        return f"was killed by signal {-code}"

    def stop(self) -> None:
        """One SIGTERM: requests in flight finish and ``stop()`` runs. SIGKILL once the
        grace period is up, or at a second Ctrl-C (re-raised)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(self._grace + STOP_MARGIN)
            except subprocess.TimeoutExpired:
                self.process.kill()
            except KeyboardInterrupt:
                self.process.kill()
                raise
            finally:
                self.process.wait()
        self._relay.join(1.0)


def start(
    directory: Path, spec: funcyaml.FuncSpec, *, host: str, port: int, env: dict[str, str]
) -> Child:
    """Start the runtime for ``directory`` and wait until it answers ready. ``env``:
    variables it gets on top of this process's (func.yaml's ``sink``)."""
    environment = prepare_environment(directory, spec)
    env = {**os.environ, **env}
    env["PYTHONPATH"] = environment.python_path(os.environ.get("PYTHONPATH"))
    lifeline.child_env(env)
    command = [sys.executable, "-m", "unkai.runtime", str(directory)]
    command += ["--host", host, "--port", str(port)]
    process = subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    child = Child(process, grace=spec.runtime.grace_period)
    try:
        child.wait_ready(f"http://{connect_host(host)}:{port}")
    except BaseException:
        child.stop()
        raise
    return child


def connect_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host
