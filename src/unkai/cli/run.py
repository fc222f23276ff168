"""``unkai run``: serve a function locally and restart it when its source changes.

The function runs in a child process (``python -m unkai.runtime``) with its
requirements from the cached environment, so a restart after an edit costs an
interpreter start, not a pip install. While it runs, a record in the data dir tells
``unkai invoke DIR`` where it listens.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click
import httpx2
import watchfiles

from unkai.api import funcyaml, yamlsource
from unkai.build import environments
from unkai.cli import console, records

START_TIMEOUT = 60.0
STOP_GRACE = 10.0


def free_port(host: str, preferred: int) -> int:
    """``preferred`` when it is free, else one the OS picks (as ``func run`` does)."""
    for candidate in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, candidate))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise console.Failure(f"no free port on {host}")


def prepare_environment(directory: Path, spec: funcyaml.FuncSpec) -> environments.Environment:
    """The function's requirements, installed once and then reused from the cache."""
    lines = spec.requirement_lines(directory)
    cached = environments.lookup(lines)
    if cached is not None:
        return cached
    with console.err.status(f"Installing {len(lines)} requirement(s) for {spec.name}…"):
        try:
            return environments.prepare(lines, base_dir=directory)
        except environments.RequirementsError as error:
            raise console.Failure(str(error)) from None


def start(
    directory: Path, spec: funcyaml.FuncSpec, *, host: str, port: int
) -> subprocess.Popen[bytes]:
    """Start the runtime for ``directory`` and wait until it answers ready."""
    environment = prepare_environment(directory, spec)
    env = dict(os.environ)
    env["PYTHONPATH"] = environment.python_path(os.environ.get("PYTHONPATH"))
    command = [sys.executable, "-m", "unkai.runtime", str(directory)]
    command += ["--host", host, "--port", str(port)]
    process = subprocess.Popen(command, env=env)
    try:
        wait_ready(f"http://{_connect_host(host)}:{port}", process)
    except console.Failure:
        stop(process)
        raise
    return process


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    """Poll ``/health/readiness`` until 200; fail fast if the process exits."""
    deadline = time.monotonic() + START_TIMEOUT
    with httpx2.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise console.Failure(f"the function exited with code {process.returncode}")
            try:
                if client.get(f"{url}/health/readiness").status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.02)
    raise console.Failure(f"the function was not ready after {START_TIMEOUT:.0f}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, let in-flight requests finish, SIGKILL after the grace period."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops ``unkai run`` as Ctrl-C does: the function is stopped, not orphaned."""
    raise KeyboardInterrupt


def _connect_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host


@dataclass
class LocalServer:
    """The function served by ``unkai run``: always the one process that is current."""

    directory: Path
    host: str
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{_connect_host(self.host)}:{self.port}"

    def restart(self) -> funcyaml.FuncSpec:
        """Stop what runs, start the current source; raises when it cannot start."""
        self.stop()
        spec = funcyaml.load(self.directory)
        self.process = start(self.directory, spec, host=self.host, port=self.port)
        records.write(self.directory, url=self.url, pid=os.getpid(), spec=spec)
        return spec

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=int, default=8080, show_default=True, help="Port (a free one if busy)."
)
@click.option("--reload/--no-reload", default=True, show_default=True, help="Restart on changes.")
def run(directory: Path, host: str, port: int, reload: bool) -> None:
    """Serve the function in DIRECTORY locally, restarting it when its files change."""
    server = LocalServer(directory.resolve(), host, 0)
    with console.reported():
        funcyaml.load(server.directory)
    server.port = free_port(host, port)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with console.reported():
            spec = server.restart()
        console.out.print(
            f"[bold green]Serving {spec.name}[/] at [bold]{server.url}[/]  (Ctrl-C to stop)"
        )
        if reload:
            _reload_loop(server)
        elif server.process is not None:
            server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        records.remove(server.directory)
    console.out.print("Stopped.")


def _reload_loop(server: LocalServer) -> None:
    """Restart on every change; a broken edit keeps nothing running until it is fixed."""
    for changes in watchfiles.watch(server.directory, debounce=300, step=50):
        names = sorted({Path(path).name for _, path in changes})
        console.out.print(f"Changed: {', '.join(names)} — restarting")
        try:
            server.restart()
        except (console.Failure, yamlsource.SourceError) as error:
            console.err.print(f"[bold red]not restarted:[/] {error}")
            continue
        console.out.print("[green]Reloaded.[/]")
