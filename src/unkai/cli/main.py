"""``unkai``: the command line, one module per group of commands."""

from __future__ import annotations

from typing import Any

import click

from unkai import __version__
from unkai.cli import (
    broker,
    build,
    console,
    context,
    deploy,
    init,
    invoke,
    logs,
    platform,
    resources,
    run,
    runtime,
    send,
    source,
    tokens,
    traffic,
    trigger,
)


class _Commands(click.Group):
    """The ``unkai`` group: every command's errors are mapped here, once."""

    def invoke(self, ctx: click.Context) -> Any:
        with console.reported():
            return super().invoke(ctx)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="unkai")
def cli() -> None:
    """Unkai: write a function; Unkai runs it, routes to it and scales it."""


for command in (
    init.init,
    run.run,
    invoke.invoke,
    runtime.runtime,
    platform.up,
    platform.down,
    platform.status,
    platform.kubeconfig,
    deploy.deploy,
    build.build,
    context.context,
    logs.logs,
    resources.apply,
    resources.list_,
    resources.describe,
    resources.delete,
    resources.revisions,
    traffic.traffic,
    tokens.token,
    broker.broker,
    trigger.trigger,
    source.source,
    send.send,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="unkai")
