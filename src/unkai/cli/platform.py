"""``unkai up``, ``down``, ``status`` and ``kubeconfig``: the embedded platform's lifecycle.

``up`` runs the platform in this process, logging to stderr (``--detach``: in a
background process that logs to ``platform/unkai.log`` in the data dir, rotated by size;
``up --detach`` returns once the platform serves, its routes loaded). The others find
it through the record it keeps in the data dir, so they need the same ``--data-dir``
(or ``UNKAI_DATA_DIR``).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import yaml

from unkai.cli import console
from unkai.cli.target import data_dir_option, platform_files
from unkai.kube import kubeconfig as kubeconfigs
from unkai.platform import embedded, logs, platformlog, state
from unkai.platform.runners.retirement import KeepPolicy

START_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@data_dir_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback must be asked for.",
)
@click.option("--api-port", type=int, default=8090, show_default=True, help="API server port.")
@click.option("--port", type=int, default=8080, show_default=True, help="Gateway port.")
@click.option("--domain", default="localhost", show_default=True, help="Domain of service URLs.")
@click.option("--detach", "-d", is_flag=True, help="Run in the background.")
@click.option(
    "--private-network",
    is_flag=True,
    help="Give each function a network of its own: out only, not this machine's loopback "
    "(nor the gateway: functions cannot call other services or brokers here).",
)
@click.option(
    "--zygote-idle-after",
    type=click.FloatRange(min=0),
    default=KeepPolicy.idle_after,
    show_default=True,
    metavar="SECONDS",
    help="Let a revision's zygote go once the revision has had no instance this long "
    "(0: as soon as the runner looks, every 10 s); its next cold start forks a zygote "
    "from the base zygote again.",
)
@click.option(
    "--idle-zygotes",
    type=click.IntRange(min=0),
    default=KeepPolicy.at_most,
    show_default=True,
    metavar="N",
    help="Keep at most N zygotes of revisions at zero, the least recently used going "
    "first (0: no limit). Each costs a few MiB; all go when memory runs short.",
)
@click.option(
    "--isolate/--no-isolate",
    default=True,
    hidden=True,
    help="Sandbox instances (default); without, each also listens on a loopback port, "
    "which benchmarks load directly to compare with the gateway.",
)
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    hidden=True,
    help="Log here, rotated by size (what --detach asks of the background process).",
)
def up(data_dir: Path | None, host: str, api_port: int, port: int, domain: str,
       detach: bool, private_network: bool, zygote_idle_after: float, idle_zygotes: int,
       isolate: bool, log_file: Path | None) -> None:  # fmt: skip
    """Start the embedded platform: a Knative API on this machine."""
    files = platform_files(data_dir)
    running = files.running()
    if running is not None:
        raise console.Failure(f"already running (pid {running.pid}) at {running.api_url}")
    if not _is_loopback(host):
        console.err.print(
            f"[yellow]warning:[/] listening on {host}: reachable from other machines; "
            "every API request still needs the token"
        )
    settings = embedded.Settings(
        data_dir=files.root.parent, host=host, api_port=api_port, gateway_port=port,
        domain=domain, private_network=private_network, isolate=isolate,
        zygotes=KeepPolicy(idle_after=zygote_idle_after, at_most=idle_zygotes),
    )  # fmt: skip
    if detach:
        _start_detached(files, settings)
        return
    platformlog.configure(log_file)
    try:
        embedded.run(_serve(settings))
    except OSError as error:
        hint = (
            " (choose others with --port and --api-port)" if error.errno == errno.EADDRINUSE else ""
        )
        raise console.Failure(f"cannot start: {error}{hint}") from None


async def _serve(settings: embedded.Settings) -> None:
    platform = embedded.Platform(settings)

    def announce() -> None:
        console.err.print(f"[bold green]Unkai is up[/]: API {platform.api.url}")
        console.err.print(f"kubectl: export KUBECONFIG={platform.files.kubeconfig}")

    await platform.serve_until_signalled(on_ready=announce)


def _start_detached(files: state.PlatformDir, settings: embedded.Settings) -> None:
    files.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    command = [sys.executable, "-m", "unkai.cli", "up", "--data-dir", str(settings.data_dir),
               "--host", settings.host, "--api-port", str(settings.api_port),
               "--port", str(settings.gateway_port), "--domain", settings.domain,
               "--isolate" if settings.isolate else "--no-isolate",
               "--log-file", str(files.log),
               "--zygote-idle-after", str(settings.zygotes.idle_after),
               "--idle-zygotes", str(settings.zygotes.at_most),
               *(["--private-network"] if settings.private_network else [])]  # fmt: skip
    # Its stderr (what it prints before its log is set up, or when the log file cannot
    # be written) goes to the log file too.
    with files.log.open("ab") as log_file:
        since = log_file.tell()  # what earlier runs logged is not this start's story
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
            start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT
    with console.err.status("Starting Unkai…"):
        while time.monotonic() < deadline:
            running = files.running()
            if running is not None and running.pid == process.pid:
                console.out.print(f"Unkai is up (pid {running.pid}): API {running.api_url}")
                console.out.print(f"kubectl: export KUBECONFIG={files.kubeconfig}")
                return
            if process.poll() is not None:
                tail = logs.tail(files.log, 10, since=since)
                raise console.Failure("the platform exited while starting:\n" + "\n".join(tail))
            time.sleep(0.05)
    process.terminate()
    raise console.Failure(f"the platform did not start within {START_TIMEOUT:.0f}s")


@click.command()
@data_dir_option
def down(data_dir: Path | None) -> None:
    """Stop the platform started with ``unkai up --detach``."""
    files = platform_files(data_dir)
    running = files.running()
    if running is None:
        console.out.print("Unkai is not running.")
        return
    os.kill(running.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    with console.err.status("Stopping Unkai…"):
        while running.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
    if running.alive():
        raise console.Failure(f"pid {running.pid} did not stop within {STOP_TIMEOUT:.0f}s")
    console.out.print("Unkai stopped.")


@click.command()
@data_dir_option
def status(data_dir: Path | None) -> None:
    """Say whether the platform runs, where, and how to reach it."""
    files = platform_files(data_dir)
    running = files.running()
    if running is None:
        console.out.print("Unkai is not running (start it with `unkai up`).")
        raise SystemExit(1)
    console.out.print(f"Unkai is running (pid {running.pid})")
    console.out.print(f"  API:        {running.api_url}")
    console.out.print(f"  gateway:    {running.gateway_url}")
    console.out.print(f"  kubeconfig: {files.kubeconfig}")
    console.out.print(f"  data:       {files.root.parent}")


@click.command()
@data_dir_option
@click.option("--merge", is_flag=True, help="Merge the `unkai` context into your kubeconfig.")
@click.option("--use", is_flag=True, help="With --merge: make `unkai` the current context.")
def kubeconfig(data_dir: Path | None, merge: bool, use: bool) -> None:
    """Print a kubeconfig for the platform (context `unkai`), or merge it into yours."""
    files = platform_files(data_dir)
    if not files.kubeconfig.exists():
        raise console.Failure("no kubeconfig yet: start the platform with `unkai up` first")
    ours = yaml.safe_load(files.kubeconfig.read_text())
    if not merge:
        console.out.print(yaml.safe_dump(ours, sort_keys=False), end="", markup=False)
        return
    target = kubeconfigs.default_path()
    kubeconfigs.save(target, kubeconfigs.merge(kubeconfigs.load(target), ours, use=use))
    console.out.print(f"Merged context `unkai` into {target}")
