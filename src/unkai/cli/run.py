"""``unkai run``: serve a function locally and restart it when its source changes.

The function runs in a child process (:mod:`.child`) with its requirements from the
cached environment, so a restart after an edit costs an interpreter start, not a pip
install; Ctrl-C, SIGTERM and SIGHUP make it drain once. The run record (``records``)
says where the function answers, or why it does not: ``unkai invoke DIR`` reads it.
func.yaml's ``sink`` is bound as ``unkai deploy`` binds it (:func:`sink_environment`).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import httpx2
import lightkube
import watchfiles
from lightkube.core.exceptions import ApiError

from unkai.api import funcyaml
from unkai.cli import console, records, target
from unkai.cli.child import DEFAULT_PORT, Child, connect_host, pick_port, start
from unkai.errors import UnkaiError
from unkai.kube import client, sinks

WATCH_TIMEOUT_MS = 250  # how soon a function that died is noticed
RESTART_HINT = "it restarts on the next change"


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM and SIGHUP stop ``unkai run`` as Ctrl-C does: the function drains.

    SIGINT is set here too: a background job (``cmd &``, nohup, CI) starts with SIGINT
    ignored, and Python then installs no Ctrl-C handler of its own, so ``kill -INT``
    did nothing and the function served on."""
    raise KeyboardInterrupt


@dataclass
class LocalServer:
    """The function served by ``unkai run``: at most one process, the current one."""

    directory: Path
    host: str
    port: int
    claim: records.Claim
    child: Child | None = None

    @property
    def url(self) -> str:
        return f"http://{connect_host(self.host)}:{self.port}"

    def restart(self) -> funcyaml.FuncSpec:
        """Stop what runs, start the current source; raises when it cannot start."""
        self.stop()
        self.claim.publish(records.Record(os.getpid(), down=records.STARTING))
        try:
            spec = funcyaml.load(self.directory)
            self.child = start(
                self.directory, spec, host=self.host, port=self.port, env=sink_environment(spec)
            )
        except UnkaiError as error:
            self._down(f"it did not start: {error}")
            raise
        declared = spec.signature.value if spec.signature else None
        signature = self.child.signature or declared
        self.claim.publish(records.Record(os.getpid(), self.url, signature))
        return spec

    def check(self) -> str | None:
        """How the function ended, once, if it has since the last look."""
        ended = self.child.ended() if self.child else None
        if ended is not None:
            self.stop()
            self._down(f"it {ended}")
        return ended

    def stop(self) -> None:
        child, self.child = self.child, None
        if child is not None:
            child.stop()

    def _down(self, why: str) -> None:
        self.claim.publish(records.Record(os.getpid(), down=f"{why}; {RESTART_HINT}"))


def sink_environment(spec: funcyaml.FuncSpec) -> dict[str, str]:
    """func.yaml's ``sink`` as ``K_SINK`` (and ``K_CE_OVERRIDES``), read again at every
    start so that an edit of func.yaml or a broker made since takes effect.

    The same code as ``unkai deploy`` (:func:`unkai.kube.sinks.environment`): a URL as
    written; a Broker or Service from the local platform, when one runs. When it cannot
    be read the function still starts, without ``K_SINK``, after a warning that says
    why: serving and calling it does not need the sink, only ``send_event`` does. A
    ``K_SINK`` the user exported wins (the function inherits it), as before the sink
    was bound here."""
    sink = spec.sink
    if sink is None:
        return {}
    if "K_SINK" in os.environ:
        console.err.print(
            f"Sink: K_SINK from your environment, not func.yaml's {sink.to}", markup=False
        )
        return {}
    try:
        with _local_platform() as api:
            namespace = spec.deploy.namespace or (api.namespace if api else "default")
            env = sinks.environment(api, sink, namespace=namespace, outside=True)
    except (UnkaiError, ApiError, httpx2.TransportError) as error:
        reason = str(error).removeprefix("sink: ")
        console.err.print(
            f"warning: sink {sink.to} is not bound (no K_SINK): {reason}", markup=False
        )
        return {}
    console.err.print(f"Sink: {sink.to} at {env['K_SINK']}", markup=False)
    return env


@contextlib.contextmanager
def _local_platform() -> Iterator[lightkube.Client | None]:
    """A client for the local platform (``unkai up``) if it runs, else ``None``."""
    platform = target.platform_files(None)
    if platform.running() is None:
        yield None
        return
    api = client.connect(context=None, local=platform.kubeconfig)
    try:
        yield api
    finally:
        api.close()


@click.command()
@click.argument(
    "directory", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=int,
    help=f"Port to listen on (an error if taken)  [default: {DEFAULT_PORT}, or a free one]",
)
@click.option("--reload/--no-reload", default=True, show_default=True, help="Restart on changes.")
def run(directory: Path, host: str, port: int | None, reload: bool) -> None:
    """Serve the function in DIRECTORY locally, restarting it when its files change."""
    directory = directory.resolve()
    funcyaml.load(directory)
    server = LocalServer(directory, host, 0, _claim(directory))
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    try:
        server.port = pick_port(host, port)
        spec = server.restart()
        console.out.print(
            f"[bold green]Serving {spec.name}[/] at [bold]{server.url}[/]  (Ctrl-C to stop)"
        )
        if reload:
            _reload_loop(server)
        else:
            _serve_once(server)
    except KeyboardInterrupt:
        if server.child is not None:
            console.out.print("Stopping: requests in flight finish first (Ctrl-C to force)")
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            server.stop()
        server.claim.release()
    console.out.print("Stopped.")


def _claim(directory: Path) -> records.Claim:
    """This directory for this ``unkai run``, unless another one serves it already."""
    try:
        return records.claim(directory)
    except records.AlreadyRunningError as taken:
        record = taken.record
        where = f" at {record.url}" if record and record.url else ""
        by = f", pid {record.pid}" if record else ""
        raise console.Failure(
            f"the function in {directory} is already running{where} (another `unkai run`{by}): "
            f"call it with `unkai invoke {directory}`, or stop that one first"
        ) from None


def _serve_once(server: LocalServer) -> None:
    """Without reload, the function ending ends ``unkai run`` (with an error)."""
    assert server.child is not None
    server.child.process.wait()
    raise console.Failure(f"the function {server.check()}")


def _reload_loop(server: LocalServer) -> None:
    """Restart on every change; a broken edit or a crash keeps nothing running until
    the next change."""
    for changes in watchfiles.watch(
        server.directory,
        debounce=300,
        step=50,
        rust_timeout=WATCH_TIMEOUT_MS,
        yield_on_timeout=True,
    ):
        if (ended := server.check()) is not None:
            console.err.print(f"[bold red]the function {ended}[/]; {RESTART_HINT}")
        if not changes:
            continue
        names = sorted({Path(path).name for _, path in changes})
        console.out.print(f"Changed: {', '.join(names)} — restarting")
        try:
            server.restart()
        except UnkaiError as error:
            console.err.print(f"[bold red]not restarted:[/] {error}")
            continue
        console.out.print("[green]Reloaded.[/]")
