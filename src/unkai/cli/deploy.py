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
from unkai.kube import images, kubeconfig


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
@click.option(
    "--image",
    "image_ref",
    metavar="REF",
    help="Build an OCI image, push it to REF (registry/repo:tag) and run it (any cluster).",
)
@click.option(
    "--insecure-registry", is_flag=True, help="Allow plain HTTP to a registry off this machine."
)
def deploy(
    directory: Path,
    context: str | None,
    namespace: str | None,
    wait: bool,
    timeout: float,
    image_ref: str | None,
    insecure_registry: bool,
) -> None:
    """Deploy the function in DIRECTORY and print its URL.

    The namespace is -n's, else func.yaml's deploy.namespace, else the context's. A
    cluster other than the local platform runs images only: give --image.
    """
    if context not in (None, kubeconfig.CONTEXT) and image_ref is None:
        raise console.Failure(
            f"context {context} is a cluster: it runs images, not bundles. Give the image"
            " to build and push, e.g. --image registry.example.com/team/fn:1"
        )
    progress = _Spinner()
    function = deploying.prepare(directory, progress)
    api = target.connect(context, namespace)
    name = function.spec.name
    pinned = None
    if image_ref is not None:
        pinned = images.build_and_push(
            directory, image_ref, progress, insecure_registry=insecure_registry
        )
    options = deploying.Options(namespace, wait=wait, timeout=timeout, image=pinned)
    with target.api_errors(subject=name):
        service = deploying.deploy(api, function, progress, options)
    url = service.get("status", {}).get("url")
    if url is None:  # --no-wait on a first deploy: the route has not been made yet
        console.out.print(f"[bold green]{name}[/] is deployed (its URL: `unkai describe {name}`)")
        return
    console.out.print(f"[bold green]{name}[/] is at [bold]{url}[/]")
