"""``unkai logs``: what a service's instances wrote, from the local platform's log files.

Instances of ``unkai up`` write to files in its data dir (one per instance, kept after
the instance is gone), read through :mod:`unkai.platform.logs`, together with the
platform's own lines about them (``platform``: failed starts, crashes with their exit
codes, a revision it stopped retrying); ``-f`` keeps following, new instances
included, until Ctrl-C. When there are none, the platform (if it is running) tells a
service that has not logged yet from one that does not exist.

The runtime logs JSON lines (one event per line, as log collectors want); people get
them as time, level and message, with a traceback as the multi-line text Python
prints. ``-o json`` gives one JSON object per line instead (the record as written and
its ``instance``), for scripts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import click
import httpx2
from lightkube.core.exceptions import ApiError
from rich.markup import escape

from unkai.cli import console
from unkai.cli.target import data_dir_option, platform_files
from unkai.kube import client, kinds
from unkai.platform import state
from unkai.platform.logs import LogLine, ServiceLogs, readable, record

LEVEL_STYLE = {"warning": "yellow", "error": "bold red", "critical": "bold red"}


def _show_text(line: LogLine) -> None:
    shown = readable(line)
    when = f"{shown.time[11:23]} " if len(shown.time) >= 23 else ""
    level = ""
    if shown.level:
        style = LEVEL_STYLE.get(shown.level, "dim")
        level = f"[{style}]{escape(shown.level.upper())}[/] "
    console.out.print(f"[dim]{escape(shown.instance)} {when}[/]{level}{escape(shown.message)}")
    for detail in shown.detail:
        console.out.print(f"    {detail}", markup=False)


def _show_json(line: LogLine) -> None:
    console.out.print(json.dumps(record(line)), markup=False)


@click.command()
@click.argument("name")
@click.option("--revision", "-r", help="Only this revision's instances.")
@click.option("--follow", "-f", "keep_following", is_flag=True, help="Keep printing new lines.")
@click.option("--namespace", "-n", default="default", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: for people (tracebacks as text); json: one JSON object a line.",
)
@data_dir_option
def logs(
    name: str,
    revision: str | None,
    keep_following: bool,
    namespace: str,
    output: str,
    data_dir: Path | None,
) -> None:
    """Show the output of service NAME's instances (on the local platform)."""
    show = _show_json if output == "json" else _show_text
    platform = platform_files(data_dir)
    service = ServiceLogs(platform, namespace=namespace, service=name, revision=revision)
    found = service.exist()
    if not found and _no_such_service(platform, name=name, namespace=namespace):
        raise console.Failure(
            f"there is no service {name} in namespace {namespace} (see `unkai list -n {namespace}`)"
        )
    if not keep_following:
        if not found:
            scope = f"revision {revision} of {name}" if revision else name
            raise console.Failure(f"no logs for {scope} in namespace {namespace} (yet)")
        for line in service.lines():
            show(line)
        return

    async def stream() -> None:
        async for line in service.follow():
            show(line)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(stream())


def _no_such_service(platform: state.PlatformDir, *, name: str, namespace: str) -> bool:
    """Whether the running platform says service ``name`` does not exist; ``False`` when
    no platform runs or it cannot be asked."""
    if platform.running() is None:
        return False
    api = client.connect(context=None, local=platform.kubeconfig, namespace=namespace)
    try:
        api.get(kinds.resource(kinds.SERVICE), name)
    except ApiError as error:
        return error.status.code == 404
    except httpx2.TransportError:
        return False
    finally:
        api.close()
    return False
