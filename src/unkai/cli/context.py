"""``unkai context use|list|current``: choose the target once, see it always.

The choice is Unkai's own (saved in the data dir, see :mod:`unkai.kube.contexts`), not
the kubeconfig's ``current-context``: choosing a cluster for Unkai leaves kubectl
where it was, and kubectl's choice never moves Unkai's deploys.
"""

from __future__ import annotations

import click
from rich.table import Table

from unkai.api import locations
from unkai.cli import console, target
from unkai.kube import contexts, kubeconfig


@click.group()
def context() -> None:
    """Choose where commands go: the local platform (unkai) or a kubeconfig context."""


@context.command()
@click.argument("name")
def use(name: str) -> None:
    """Send commands to context NAME from now on (unkai: the local platform)."""
    path = kubeconfig.default_path()
    contexts.check_known(kubeconfig.load(path), name, path)
    contexts.save(locations.data_dir(), name)
    if name == contexts.LOCAL:
        console.out.print("Commands go to the local platform (unkai)")
        return
    console.out.print(
        f"Commands go to context {name} ({path}); back to the local platform: "
        f"`unkai context use {contexts.LOCAL}`"
    )


@context.command(name="list")
def list_() -> None:
    """The contexts commands can go to; * marks the current one."""
    current = target.choice(None).context
    platform = target.platform_files(None)
    local = kubeconfig.load(platform.kubeconfig) if platform.running() is not None else None
    table = Table(box=None, pad_edge=False)
    for column in ("CURRENT", "NAME", "SERVER", "NAMESPACE"):
        table.add_column(column)
    user = kubeconfig.load(kubeconfig.default_path())
    for entry in contexts.listed(user, local, current):
        table.add_row("*" if entry.current else "", entry.name, entry.server, entry.namespace)
    console.out.print(table)


@context.command()
def current() -> None:
    """The context commands go to now, its server, and what chose it."""
    chosen = target.choice(None)
    if chosen.local:
        running = target.platform_files(None).running()
        server: str | None = (
            running.api_url if running is not None else "not running: `unkai up --detach`"
        )
    else:
        server = contexts.server_of(kubeconfig.load(kubeconfig.default_path()), chosen.context)
    console.out.print(
        target.describe(chosen, server or "?").removeprefix("Target: "), markup=False,
        highlight=False,
    )  # fmt: skip
