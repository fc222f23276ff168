"""Options every resource command shares: where to talk to, and how to print.

``--context`` (or ``UNKAI_CONTEXT``, or ``unkai context use``) picks a kubeconfig
context; without a choice the locally running ``unkai up`` is the target, and a stopped
one is an error (:mod:`unkai.kube.contexts`). Commands that change something print
their target first, on stderr. ``-o yaml|json`` prints the objects as the API returned
them, for scripts; the default is a table for people.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import yaml

from unkai.api import locations
from unkai.cli import console
from unkai.kube import contexts
from unkai.platform import state

if TYPE_CHECKING:
    import lightkube

F = TypeVar("F", bound=Callable[..., Any])


def options(function: F) -> F:
    """Add ``--context`` and ``--namespace`` to a command."""
    function = click.option(
        "--namespace", "-n", default=None, help="Namespace (default: the context's, or default)."
    )(function)
    return click.option(
        "--context",
        default=None,
        help="Kubeconfig context (default: UNKAI_CONTEXT, else `unkai context use`'s, else"
        " the local platform).",
    )(function)


def output_option(function: F) -> F:
    return click.option(
        "--output",
        "-o",
        type=click.Choice(["table", "yaml", "json"]),
        default="table",
        show_default=True,
        help="Output format.",
    )(function)


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="UNKAI_DATA_DIR",
    help="Where the platform keeps its state (default ~/.local/share/unkai).",
)
"""For the commands of the local platform: ``up``, ``down``, ``status``, ``logs``..."""


def platform_files(data_dir: Path | None) -> state.PlatformDir:
    """The files of the local platform under ``data_dir`` (default: the user's)."""
    return state.PlatformDir.under(data_dir or locations.data_dir())


def choice(context: str | None) -> contexts.Choice:
    """The context this command talks to (``context`` is ``--context``'s value)."""
    saved = contexts.read_saved(locations.data_dir())
    environment = os.environ.get(contexts.ENVIRONMENT)
    return contexts.choose(flag=context, environment=environment, saved=saved)


def connect(
    context: str | None, namespace: str | None, *, changes: bool = False
) -> lightkube.Client:
    """The client for this command (see the module docstring for the choice), closed
    with the command's context. ``changes``: the command changes something, so its
    target is printed first."""
    from lightkube.core.exceptions import ConfigError  # late: `unkai up` has no client

    from unkai.kube import client  # late: `unkai up` has no client

    chosen = choice(context)
    platform = platform_files(None)
    running = platform.running()
    local = platform.kubeconfig if running is not None else None
    try:
        api = client.connect(context=chosen.context, local=local, namespace=namespace)
    except ConfigError as error:
        raise console.Failure(str(error)) from None
    if changes:
        server = str(api.config.cluster.server)
        console.err.print(describe(chosen, server), markup=False, highlight=False)
    return click.get_current_context().with_resource(api)


def describe(chosen: contexts.Choice, server: str) -> str:
    """The target line: ``Target: context prod (https://…:6443), chosen by --context``."""
    what = "the local platform" if chosen.local else f"context {chosen.context}"
    how = "" if chosen.source == "default" else f", chosen by {chosen.source}"
    return f"Target: {what} ({server}){how}"


@contextmanager
def api_errors(*, subject: str = "") -> Iterator[None]:
    """API and connection errors as one readable line (with field causes, when given)."""
    import httpx2  # late: `unkai up` has no client
    from lightkube.core.exceptions import ApiError  # late: `unkai up` has no client

    try:
        yield
    except ApiError as error:
        status = error.status
        lines = [status.message or f"{status.code} {status.reason}"]
        details = status.details
        for cause in (details.causes or []) if details else []:
            if cause.field and cause.field not in (status.message or ""):
                lines.append(f"  {cause.field}: {cause.message}")
        prefix = f"{subject}: " if subject else ""
        raise console.Failure(prefix + "\n".join(lines)) from None
    except httpx2.TransportError as error:
        raise console.Failure(f"cannot reach the API server: {error}") from None


def emit(objects: list[dict[str, Any]] | dict[str, Any], output: str) -> None:
    """Print objects as YAML (multi-document for lists) or JSON (a List for lists)."""
    if output == "json":
        document = (
            {"apiVersion": "v1", "kind": "List", "items": objects}
            if isinstance(objects, list)
            else objects
        )
        console.out.print(json.dumps(document, indent=2), markup=False)
    elif isinstance(objects, list):
        console.out.print(yaml.safe_dump_all(objects, sort_keys=False), end="", markup=False)
    else:
        console.out.print(yaml.safe_dump(objects, sort_keys=False), end="", markup=False)
