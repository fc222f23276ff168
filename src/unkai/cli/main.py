"""``unkai``: the command line, one module per group of commands.

A command's module is imported when that command runs, not every command's: what a
user waits for on each ``unkai list`` is the imports of the resource commands (about
half a second on a 2-core machine), not the platform's, the image builder's and the
runtime's as well (over a second). ``--help`` imports them all to list them. This is
click's documented pattern for lazily loaded subcommands.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from unkai import __version__
from unkai.cli import console

COMMANDS = {
    "init": "init:init",
    "run": "run:run",
    "invoke": "invoke:invoke",
    "runtime": "runtime:runtime",
    "up": "platform:up",
    "down": "platform:down",
    "status": "platform:status",
    "kubeconfig": "platform:kubeconfig",
    "deploy": "deploy:deploy",
    "build": "build:build",
    "context": "context:context",
    "logs": "logs:logs",
    "apply": "resources:apply",
    "list": "resources:list_",
    "describe": "resources:describe",
    "delete": "resources:delete",
    "revisions": "resources:revisions",
    "traffic": "traffic:traffic",
    "token": "tokens:token",
    "broker": "broker:broker",
    "trigger": "trigger:trigger",
    "source": "source:source",
    "send": "send:send",
}
"""Command name -> ``module:attribute`` in :mod:`unkai.cli`."""


class _Commands(click.Group):
    """The ``unkai`` group: commands load on use, and every command's errors are mapped
    here, once."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in COMMANDS:
            return command
        module, attribute = COMMANDS[cmd_name].split(":")
        loaded = getattr(importlib.import_module(f"unkai.cli.{module}"), attribute)
        assert isinstance(loaded, click.Command), COMMANDS[cmd_name]
        assert loaded.name == cmd_name, (loaded.name, cmd_name)
        return loaded

    def invoke(self, ctx: click.Context) -> Any:
        with console.reported():
            return super().invoke(ctx)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="unkai")
def cli() -> None:
    """Unkai: write a function; Unkai runs it, routes to it and scales it."""


def main() -> None:
    cli(prog_name="unkai")
