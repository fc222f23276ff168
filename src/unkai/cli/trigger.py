"""``unkai trigger create|list|delete``: which of a broker's events go to which sink."""

from __future__ import annotations

import click

from unkai.cli import eventing_views, objects, target
from unkai.kube import eventing, kinds


@click.group()
def trigger() -> None:
    """Triggers: a broker's events that pass a filter, delivered to a sink."""


@trigger.command()
@click.argument("name")
@click.option("--broker", required=True, help="The broker whose events to take.")
@click.option(
    "--sink", required=True, help="Where to deliver: NAME, ksvc:NAME, broker:NAME or a URL."
)
@click.option(
    "--filter",
    "filters",
    multiple=True,
    metavar="ATTR=VALUE",
    help="Only events whose attribute equals VALUE (empty: has the attribute); repeatable.",
)
@click.option("--cesql", metavar="EXPR", help="Only events for which this CESQL is true.")
@target.options
def create(
    name: str,
    broker: str,
    sink: str,
    filters: tuple[str, ...],
    cesql: str | None,
    context: str | None,
    namespace: str | None,
) -> None:
    """Create trigger NAME, e.g. --broker default --sink orders --filter type=order.paid."""
    manifest = eventing.trigger(
        name, namespace=namespace, broker=broker, sink=sink, filters=filters, cesql_text=cesql
    )
    objects.create(manifest, context=context, namespace=namespace)


@trigger.command(name="list")
@target.options
@target.output_option
def list_(context: str | None, namespace: str | None, output: str) -> None:
    """List triggers with their broker, sink and readiness."""
    columns = eventing_views.TRIGGER_COLUMNS
    objects.listing(kinds.TRIGGER, columns, context=context, namespace=namespace, output=output)


@trigger.command()
@click.argument("name")
@target.options
def delete(name: str, context: str | None, namespace: str | None) -> None:
    """Delete trigger NAME (events queued for it are dropped)."""
    objects.delete(kinds.TRIGGER, name, context=context, namespace=namespace)
