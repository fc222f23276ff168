"""``unkai deploy``: ship a function directory to the platform and wait until it serves.

The sequence is :mod:`unkai.kube.deploy`'s; this command parses, connects (printing its
target first), and shows its progress: a spinner line for the long steps (on a terminal
the wait says what the new revision waits for and for how long; elsewhere one line each
time that changes). ``--dry-run`` prints the manifests instead (``-o yaml|json``),
rendered by the same builders, without asking the target anything: the namespace is
then -n's, func.yaml's, the chosen cluster context's, else ``default``.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.status import Status

from unkai.cli import console, target
from unkai.kube import contexts, images, kubeconfig
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
@click.option(
    "--image",
    "image_ref",
    metavar="REF",
    help="Build an OCI image, push it to REF (registry/repo:tag) and run it (any cluster).",
)
@click.option(
    "--base-image",
    metavar="REF",
    help="With --image: the image to build on (as `unkai build --base-image`).",
)
@click.option(
    "--insecure-registry", is_flag=True, help="Allow plain HTTP to a registry off this machine."
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the manifests (Service, Triggers) instead of deploying; --image builds"
    " without pushing.",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["yaml", "json"]),
    default=None,
    help="Format of --dry-run's manifests [default: yaml].",
)
def deploy(
    directory: Path,
    context: str | None,
    namespace: str | None,
    wait: bool,
    timeout: float,
    image_ref: str | None,
    base_image: str | None,
    insecure_registry: bool,
    dry_run: bool,
    output: str | None,
) -> None:
    """Deploy the function in DIRECTORY and print its URL.

    The namespace is -n's, else func.yaml's deploy.namespace, else the context's. A
    cluster other than the local platform runs images only: give --image.
    """
    if output is not None and not dry_run:
        raise click.UsageError("-o/--output formats --dry-run's manifests: add --dry-run")
    if base_image is not None and image_ref is None:
        raise click.UsageError("--base-image is what --image builds on: add --image REF")
    chosen = target.choice(context)
    if not chosen.local and image_ref is None:
        raise console.Failure(
            f"context {chosen.context} is a cluster: it runs images, not bundles. Give the"
            " image to build and push, e.g. --image registry.example.com/team/fn:1"
        )
    progress = _Spinner()
    function = deploying.prepare(directory, progress)
    if dry_run:
        _print_manifests(directory, function, chosen, namespace, image_ref,
                         insecure_registry=insecure_registry, base_image=base_image,
                         output=output or "yaml")  # fmt: skip
        return
    api = target.connect(context, namespace, changes=True)
    name = function.spec.name
    pinned = None
    if image_ref is not None:
        pinned = images.build_and_push(
            directory, image_ref, progress, insecure_registry=insecure_registry,
            base_image=base_image,
        )  # fmt: skip
    options = deploying.Options(namespace, wait=wait, timeout=timeout, image=pinned)
    with target.api_errors(subject=name):
        service = deploying.deploy(api, function, progress, options)
    url = service.get("status", {}).get("url")
    if url is None:  # --no-wait on a first deploy: the route has not been made yet
        console.out.print(f"[bold green]{name}[/] is deployed (its URL: `unkai describe {name}`)")
        return
    console.out.print(f"[bold green]{name}[/] is at [bold]{url}[/]")


def _print_manifests(
    directory: Path, function: deploying.Function, chosen: contexts.Choice,
    namespace: str | None, image_ref: str | None, *, insecure_registry: bool,
    base_image: str | None, output: str,
) -> None:  # fmt: skip
    """``--dry-run``: what a deploy would apply, with the image it would pin."""
    default = "default"
    if not chosen.local:
        config = kubeconfig.load(kubeconfig.default_path())
        default = contexts.namespace_of(config, chosen.context) or default
    pinned = None
    if image_ref is not None:
        pinned = images.build_and_push(
            directory, image_ref, _Spinner(), insecure_registry=insecure_registry,
            base_image=base_image, push=False,
        )  # fmt: skip
    options = deploying.Options(namespace, image=pinned)
    where = deploying.namespace_of(function, options, default)
    if function.spec.sink:
        console.err.print(
            "K_SINK (func.yaml's sink) is left out: a deploy reads it from the sink's "
            "address on the target",
            markup=False,
        )
    target.emit(deploying.render(function, namespace=where, image=pinned), output)
