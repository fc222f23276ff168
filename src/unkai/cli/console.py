"""The terminal: one rich console for output, one for errors, and how errors look.

Every failure ends the same way: a red line saying what was wrong and where, and exit
code 1 (2 for bad usage, as click does). The layers below raise the exceptions of
:mod:`unkai.errors`; :func:`reported`, wrapped once around every command (``main``),
turns any of them into a :class:`Failure`, which is what click shows.

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

from unkai.errors import UnkaiError

PIPE_WIDTH = 10_000

out = Console(highlight=False, soft_wrap=True)
if not out.is_terminal and "COLUMNS" not in os.environ:
    out.width = PIPE_WIDTH
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Failure(UnkaiError, click.ClickException):  # noqa: N818 (click's naming)
    """A command could not do what was asked; the message says why (a problem of either
    branch of the tree that the command found itself, or an error of the tree, shown)."""

    def show(self, file: object = None) -> None:
        err.print(f"[bold red]error:[/] {escape(self.message)}")


@contextmanager
def reported() -> Iterator[None]:
    """Turn any error of :mod:`unkai.errors` into a :class:`Failure`, worded as raised."""
    try:
        yield
    except Failure:
        raise
    except UnkaiError as error:
        raise Failure(str(error)) from None
