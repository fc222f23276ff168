"""``unkai runtime serve``: the bare function runtime, as instances and images run it."""

from __future__ import annotations

from pathlib import Path

import click

from unkai import runtime as function_runtime


@click.group()
def runtime() -> None:
    """The function runtime (what runs inside every instance and image)."""


@runtime.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", envvar="HOST", default="0.0.0.0", show_default=True)
@click.option("--port", envvar="PORT", type=int, default=8080, show_default=True)
def serve(directory: Path, host: str, port: int) -> None:
    """Serve the function in DIRECTORY over HTTP (no reload, no requirement install)."""
    raise SystemExit(function_runtime.main([str(directory), "--host", host, "--port", str(port)]))
