"""``unkai source ping create|list|delete``: events on a schedule (PingSource)."""

from __future__ import annotations

import click

from unkai.cli import eventing_views, objects, target
from unkai.kube import eventing, kinds


@click.group()
def source() -> None:
    """Event sources."""


@source.group()
def ping() -> None:
    """PingSources: an event on a cron schedule."""


@ping.command()
@click.argument("name")
@click.option(
    "--schedule", required=True, help="Cron schedule, e.g. '*/1 * * * *' (CRON_TZ= allowed)."
)
@click.option("--data", help="The event's data.")
@click.option("--content-type", help="The data's media type (e.g. application/json).")
@click.option("--sink", required=True, help="Where to send: NAME, ksvc:NAME, broker:NAME or a URL.")
@target.options
def create(
    name: str,
    schedule: str,
    data: str | None,
    content_type: str | None,
    sink: str,
    context: str | None,
    namespace: str | None,
) -> None:
    """Create PingSource NAME."""
    manifest = eventing.ping_source(
        name, namespace=namespace, schedule=schedule, sink=sink, data=data,
        content_type=content_type,
    )  # fmt: skip
    objects.create(manifest, context=context, namespace=namespace)


@ping.command(name="list")
@target.options
@target.output_option
def list_(context: str | None, namespace: str | None, output: str) -> None:
    """List PingSources with their schedule, sink and readiness."""
    columns = eventing_views.PING_COLUMNS
    objects.listing(kinds.PING_SOURCE, columns, context=context, namespace=namespace, output=output)


@ping.command()
@click.argument("name")
@target.options
def delete(name: str, context: str | None, namespace: str | None) -> None:
    """Delete PingSource NAME."""
    objects.delete(kinds.PING_SOURCE, name, context=context, namespace=namespace)
