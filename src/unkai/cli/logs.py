"""``unkai logs``: what a service's instances wrote, from the local platform's log files.

Instances of ``unkai up`` write to files in its data dir (one per instance, kept after
the instance is gone), so this reads them directly; ``-f`` keeps following, new
instances included, until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import click
from rich.markup import escape

from unkai.cli import console
from unkai.cli.platform import data_dir_option, platform_files
from unkai.platform.runners import LogFiles, LogLine, follow, read


def _show(line: LogLine) -> None:
    console.out.print(f"[dim]{escape(line.instance)}[/] {escape(line.text)}")


@click.command()
@click.argument("name")
@click.option("--revision", "-r", help="Only this revision's instances.")
@click.option("--follow", "-f", "keep_following", is_flag=True, help="Keep printing new lines.")
@click.option("--namespace", "-n", default="default", show_default=True)
@data_dir_option
def logs(
    name: str, revision: str | None, keep_following: bool, namespace: str, data_dir: Path | None
) -> None:
    """Show the output of service NAME's instances (on the local platform)."""
    files = LogFiles(platform_files(data_dir).root / "logs")
    if not keep_following:
        found = files.find(namespace=namespace, service=name, revision=revision)
        if not found:
            scope = f"revision {revision} of {name}" if revision else name
            raise console.Failure(f"no logs for {scope} in namespace {namespace} (yet)")
        for line in read(found):
            _show(line)
        return

    async def stream() -> None:
        async for line in follow(files, namespace=namespace, service=name, revision=revision):
            _show(line)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(stream())
