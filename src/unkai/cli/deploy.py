"""``unkai deploy``: ship a function directory to the platform and wait until it serves.

The sequence is :mod:`unkai.kube.deploy`'s; this command parses, connects, and shows
its progress: a spinner line for the long steps (on a terminal the wait says what the
new revision waits for and for how long; elsewhere one line each time that changes).
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.status import Status

from unkai.cli import console, target
from unkai.kube import deploy as deploying


class _Spinner:
    """Renders :class:`unkai.kube.deploy.Progress` on stderr with rich."""

    def __init__(self) -> None:
        self._status: Status | None = None
        self._said = ""

    def step(self, activity: str) -> None:
        self._status = console.err.status(activity)
        self._status.start()

    def waiting(self, what: str, elapsed: float) -> None:
        if self._status is not None:
            self._status.update(f"Waiting for {what} ({elapsed:.0f}s)")
        if what != self._said and not console.err.is_terminal:
            console.err.print(f"Waiting for {what}")
        self._said = what

    def done(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def note(self, line: str) -> None:
        console.err.print(line)


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@target.options
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until Ready.")
@click.option(
    "--timeout",
    type=float,
    default=deploying.DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds to wait for Ready (a first install of requirements can take minutes).",
)
def deploy(
    directory: Path, context: str | None, namespace: str | None, wait: bool, timeout: float
) -> None:
    """Deploy the function in DIRECTORY and print its URL.

    The namespace is -n's, else func.yaml's deploy.namespace, else the context's.
    """
    progress = _Spinner()
    function = deploying.prepare(directory, progress)
    api = target.connect(context, namespace)
    name = function.spec.name
    with target.api_errors(subject=name):
        service = deploying.deploy(
            api, function, progress, deploying.Options(namespace, wait=wait, timeout=timeout)
        )
    url = service.get("status", {}).get("url")
    if url is None:  # --no-wait on a first deploy: the route has not been made yet
        console.out.print(f"[bold green]{name}[/] is deployed (its URL: `unkai describe {name}`)")
        return
    console.out.print(f"[bold green]{name}[/] is at [bold]{url}[/]")
