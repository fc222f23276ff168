"""``unkai token create|list|revoke``: tokens for tenants of one namespace.

The API server of ``unkai up`` admits its admin token (``platform/token``) and the
tenant tokens recorded in ``platform/tokens.json`` (as digests: see
:mod:`unkai.platform.apiserver.tokens`). These commands edit that file in the data dir,
so they need the same ``--data-dir`` as ``up``, not a running platform: a running one
reads the file again when it changes, so a token works, or stops, at once. A token is
shown once, when it is made; only its digest is kept.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import httpx2
import yaml
from lightkube.core.exceptions import ApiError
from lightkube.resources.core_v1 import Namespace
from rich.table import Table

from unkai.api import funcyaml
from unkai.cli import console
from unkai.cli.target import data_dir_option, platform_files
from unkai.kube import client
from unkai.kube import kubeconfig as kubeconfigs
from unkai.platform import state
from unkai.platform.apiserver import tokens


def _dns_label(ctx: click.Context, parameter: click.Parameter, value: str) -> str:
    if not re.fullmatch(funcyaml.DNS_LABEL, value):
        raise click.BadParameter(
            f"{value!r} is not a DNS label (lowercase letters, digits and '-', starting "
            "with a letter)",
            ctx=ctx,
            param=parameter,
        )
    return value


_namespace = click.option(
    "--namespace", "-n", required=True, callback=_dns_label, help="The tenant's namespace."
)
_name = click.option(
    "--name",
    default="default",
    show_default=True,
    callback=_dns_label,
    help="Which of the namespace's tokens (as a service account's name).",
)


@click.group()
def token() -> None:
    """Tokens that may act in one namespace only (for a team, a CI job)."""


def _book(data_dir: Path | None) -> tuple[state.PlatformDir, Path]:
    files = platform_files(data_dir)
    return files, files.root / tokens.FILE


@token.command()
@_namespace
@_name
@click.option(
    "--kubeconfig",
    "kubeconfig_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a kubeconfig with the token (namespace NS its default) instead of printing it.",
)
@data_dir_option
def create(namespace: str, name: str, kubeconfig_file: Path | None, data_dir: Path | None) -> None:
    """Make a token for namespace NS (replacing the one of the same --name), print it once.

    With --kubeconfig, write a kubeconfig holding it (context unkai-NS): use it with
    `KUBECONFIG=FILE kubectl ...`, or `KUBECONFIG=FILE unkai list --context unkai-NS`.
    """
    files, book = _book(data_dir)
    if kubeconfig_file is not None and not files.kubeconfig.exists():
        raise console.Failure(
            f"no platform kubeconfig in {files.root} to take the server from: "
            "start the platform with `unkai up` first"
        )
    secret = tokens.create(book, namespace=namespace, name=name)
    if _missing_namespace(files, namespace):
        console.err.print(
            f"[yellow]note:[/] namespace {namespace} does not exist yet: the token can do "
            f"nothing until the admin creates it (`kubectl create namespace {namespace}`)"
        )
    if kubeconfig_file is None:
        console.out.print(secret, markup=False)
        return
    ours = yaml.safe_load(files.kubeconfig.read_text())
    kubeconfigs.save(
        kubeconfig_file, kubeconfigs.for_tenant(ours, token=secret, namespace=namespace)
    )
    console.out.print(
        f"Wrote a kubeconfig for namespace {namespace} to {kubeconfig_file} "
        f"(context {kubeconfigs.CONTEXT}-{namespace}, owner-only: it holds the token)"
    )


def _missing_namespace(files: state.PlatformDir, namespace: str) -> bool:
    """Whether the running platform says ``namespace`` does not exist; ``False`` when
    none runs or it cannot be asked (the token is made either way)."""
    if files.running() is None:
        return False
    api = client.connect(context=None, local=files.kubeconfig)
    try:
        api.get(Namespace, namespace)
    except ApiError as error:
        return error.status.code == 404
    except httpx2.TransportError:
        return False
    finally:
        api.close()
    return False


@token.command(name="list")
@data_dir_option
def list_(data_dir: Path | None) -> None:
    """List the tenant tokens (namespace and name; the tokens themselves are not kept)."""
    _, book = _book(data_dir)
    found = tokens.tenants(book)
    if not found:
        console.out.print("No tenant tokens (make one with `unkai token create -n NAMESPACE`).")
        return
    table = Table(box=None, header_style="bold")
    table.add_column("NAMESPACE")
    table.add_column("NAME")
    for identity in found:
        table.add_row(identity.namespace, identity.name)
    console.out.print(table)


@token.command()
@_namespace
@_name
@data_dir_option
def revoke(namespace: str, name: str, data_dir: Path | None) -> None:
    """Remove namespace NS's token --name; the running platform refuses it at once."""
    _, book = _book(data_dir)
    if not tokens.revoke(book, namespace=namespace, name=name):
        raise console.Failure(
            f"there is no token {name} for namespace {namespace} (see `unkai token list`)"
        )
    console.out.print(f"Revoked token {name} of namespace {namespace}")
