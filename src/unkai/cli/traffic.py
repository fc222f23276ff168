"""``unkai traffic``: split a service's traffic between its revisions, and tag them."""

from __future__ import annotations

from typing import Any

import click
import lightkube
from lightkube.types import PatchType

from unkai.cli import console, target
from unkai.kube import client, kinds
from unkai.kube import traffic as builder


@click.command()
@click.argument("name")
@click.option(
    "--split",
    "splits",
    multiple=True,
    metavar="REV=PCT",
    help="Percent of traffic for a revision (@latest: the latest ready one).",
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="REV=TAG",
    help="Give a revision its own URL, http://TAG-NAME.NAMESPACE.DOMAIN.",
)
@target.options
@target.output_option
def traffic(
    name: str,
    splits: tuple[str, ...],
    tags: tuple[str, ...],
    context: str | None,
    namespace: str | None,
    output: str,
) -> None:
    """Set the traffic of service NAME, e.g. --split NAME-00001=90 --split @latest=10."""
    if not splits:
        raise click.UsageError("give at least one --split REV=PCT")
    try:
        wanted = builder.targets(splits, tags)
    except builder.TrafficError as error:
        raise click.BadParameter(str(error)) from None
    api = target.connect(context, namespace, changes=True)
    with target.api_errors(subject=name):
        _check_revisions(api, name, wanted)
        service = api.patch(
            kinds.resource(kinds.SERVICE),
            name,
            {"spec": {"traffic": wanted}},
            patch_type=PatchType.MERGE,
        )
    if output != "table":
        target.emit(client.to_dict(service), output)
        return
    for entry in wanted:
        revision = "@latest" if entry.get("latestRevision") else entry["revisionName"]
        tag = f"  #{entry['tag']}" if entry.get("tag") else ""
        console.out.print(f"{entry['percent']:>3}%  {revision}{tag}")


def _check_revisions(api: lightkube.Client, name: str, wanted: list[dict[str, Any]]) -> None:
    """Refuse a split naming a revision the service does not have: applied, it would
    leave the service not ready (``RevisionMissing``) on its old traffic."""
    selector: dict[str, Any] = {"serving.knative.dev/service": name}
    found = api.list(kinds.resource(kinds.REVISION), labels=selector)
    existing = sorted(obj.metadata.name for obj in found)
    missing = [e["revisionName"] for e in wanted if e.get("revisionName") not in (None, *existing)]
    if missing:
        listed = ", ".join(existing) or "none yet"
        raise console.Failure(
            f"service {name} has no revision {', '.join(missing)} (its revisions: {listed})"
        )
