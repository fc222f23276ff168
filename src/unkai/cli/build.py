"""``unkai build``: the function as an OCI image, without a container daemon.

Writes an OCI image layout (``--output DIR``, or an archive with ``--output X.tar``),
pushes to a registry (``--push --image REF``), or prints an equivalent Dockerfile
(``--dockerfile``). Steps go to stderr; long transfers show a progress bar.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn

from unkai.build import credentials, dockerfile, image, references
from unkai.build import push as pushing
from unkai.build.oci import write_layout
from unkai.build.registry import Registry
from unkai.cli import console
from unkai.platform.bundles.ignore import Ignore

_BAR_FROM = 1 << 20  # bytes: smaller blobs move too fast for a bar to mean anything


class _Shown:
    """Renders :class:`unkai.build.image.BuildProgress` on stderr with rich."""

    def __init__(self) -> None:
        self._bars = Progress(
            TextColumn("  {task.description}"),
            BarColumn(),
            DownloadColumn(),
            console=console.err,
            transient=True,
        )
        self._tasks: dict[str, TaskID] = {}

    def step(self, activity: str) -> None:
        console.err.print(activity)

    def transfer(self, what: str, done: int, total: int) -> None:
        if total < _BAR_FROM or not console.err.is_terminal:
            return
        if what not in self._tasks:
            if not self._tasks:
                self._bars.start()
            self._tasks[what] = self._bars.add_task(what, total=total)
        self._bars.update(self._tasks[what], completed=done)
        if done >= total:
            self._bars.remove_task(self._tasks[what])
            if not self._bars.tasks:
                self._bars.stop()

    def close(self) -> None:
        if self._bars.live.is_started:  # stopping a display never started prints a blank line
            self._bars.stop()


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--base-image", metavar="REF", help=f"Image to build on [default: {image.default_base()}]."
)
@click.option(
    "--python-version",
    metavar="X.Y",
    help="The image's Python, when the base image does not say (PYTHON_VERSION).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write an OCI image layout: a directory, or an archive if it ends in .tar.",
)
@click.option("--push", is_flag=True, help="Push the image to --image's registry.")
@click.option("--image", "image_ref", metavar="REF", help="Where to push (registry/repo:tag).")
@click.option(
    "--insecure-registry",
    is_flag=True,
    help="Allow plain HTTP to a registry off this machine (loopback always may).",
)
@click.option(
    "--dockerfile",
    "as_dockerfile",
    is_flag=True,
    help="Print an equivalent Dockerfile instead of building.",
)
@click.option(
    "--unkai-wheel",
    metavar="FILE",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="With --dockerfile: install Unkai from this wheel in DIRECTORY, not from the index"
    f" (make it with `{dockerfile.wheel_command()}`).",
)
def build(
    directory: Path,
    base_image: str | None,
    python_version: str | None,
    output: Path | None,
    push: bool,
    image_ref: str | None,
    insecure_registry: bool,
    as_dockerfile: bool,
    unkai_wheel: Path | None,
) -> None:
    """Build the function in DIRECTORY into an OCI image (no container daemon needed)."""
    if as_dockerfile:
        wheel = _in_context(unkai_wheel, directory) if unkai_wheel else None
        console.out.print(dockerfile.render(directory, base_image, wheel), end="", markup=False)
        return
    if unkai_wheel is not None:
        raise click.UsageError("--unkai-wheel goes with --dockerfile (a build copies Unkai)")
    if push and not image_ref:
        raise click.UsageError("--push needs --image REF (for example localhost:5000/hello:1)")
    if not push and output is None:
        raise click.UsageError("say where the image goes: --output PATH, or --push --image REF")
    target = references.parse(image_ref) if image_ref else None
    shown = _Shown()
    options = image.Options(
        base_image, python_version, insecure_registry=insecure_registry,
        ignores=Ignore.of(directory).ignores,
    )  # fmt: skip
    try:
        built = image.build(directory, options, shown)
        if output is not None:
            write_layout(built, output, tag=target.tag or "latest" if target else "latest")
            console.err.print(f"Wrote {output}")
        if push and target is not None:
            auth = credentials.for_registry(target.registry)
            with Registry(target.registry, auth, insecure=insecure_registry) as registry:
                pinned, counts = pushing.push(built, target, registry, shown)
            said = ", ".join(f"{count} {how}" for how, count in sorted(counts.items()))
            console.err.print(f"Pushed {pinned} (blobs: {said})")
    finally:
        shown.close()
    console.out.print(built.digest, markup=False)


def _in_context(wheel: Path, directory: Path) -> PurePosixPath:
    """``wheel`` relative to the build context, which a Dockerfile can only read from."""
    inside = wheel.resolve()
    if not inside.is_relative_to(directory.resolve()):
        raise click.BadParameter(
            f"{wheel} is not in {directory}, the build context: put the wheel there",
            param_hint="--unkai-wheel",
        )
    if not (inside.name.startswith("unkai-") and inside.suffix == ".whl"):
        raise click.BadParameter(f"{wheel} is not a wheel of unkai", param_hint="--unkai-wheel")
    return PurePosixPath(inside.relative_to(directory.resolve()).as_posix())
