"""``unkai broker create|list|delete``: where events are sent, kept and handed out."""

from __future__ import annotations

import click

from unkai.cli import eventing_views, objects, target
from unkai.kube import eventing, kinds


@click.group()
def broker() -> None:
    """Brokers: event ingress with a durable queue; Triggers take events from them."""


@broker.command()
@click.argument("name")
@click.option(
    "--dead-letter-sink",
    metavar="SINK",
    help="Where events go that no retry delivered: NAME, ksvc:NAME, broker:NAME or a URL.",
)
@target.options
def create(name: str, dead_letter_sink: str | None, context: str | None, namespace: str | None
           ) -> None:  # fmt: skip
    """Create broker NAME (its URL: `unkai broker list`)."""
    manifest = eventing.broker(name, namespace=namespace, dead_letter_sink=dead_letter_sink)
    objects.create(manifest, context=context, namespace=namespace)


@broker.command(name="list")
@target.options
@target.output_option
def list_(context: str | None, namespace: str | None, output: str) -> None:
    """List brokers with their URLs and readiness."""
    columns = eventing_views.BROKER_COLUMNS
    objects.listing(kinds.BROKER, columns, context=context, namespace=namespace, output=output)


@broker.command()
@click.argument("name")
@target.options
def delete(name: str, context: str | None, namespace: str | None) -> None:
    """Delete broker NAME (its Triggers stay, not Ready, until deleted)."""
    objects.delete(kinds.BROKER, name, context=context, namespace=namespace)
