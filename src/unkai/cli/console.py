"""The terminal: one rich console for output, one for errors, and how errors look.

Commands raise :class:`click.ClickException` subclasses (or domain errors turned into
them here) so that every failure ends the same way: a red line saying what was wrong
and where, and exit code 1 (2 for bad usage, as click does).

Output that goes to a pipe or a file is not cut to a terminal's width (rich would assume
80 columns): ``unkai list | awk '{print $2}'`` gets whole URLs. ``COLUMNS`` still wins.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import click
from rich.console import Console
from rich.markup import escape

from unkai.api import yamlsource

PIPE_WIDTH = 10_000

out = Console(highlight=False, soft_wrap=True)
if not out.is_terminal and "COLUMNS" not in os.environ:
    out.width = PIPE_WIDTH
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Failure(click.ClickException):
    """A command could not do what was asked; the message says why."""

    def show(self, file: object = None) -> None:
        err.print(f"[bold red]error:[/] {escape(self.message)}")


@contextmanager
def reported() -> Iterator[None]:
    """Turn the domain errors a command may meet into :class:`Failure`."""
    try:
        yield
    except yamlsource.SourceError as error:
        raise Failure(str(error)) from None
