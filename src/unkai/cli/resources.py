"""Resource commands: apply, list, describe, delete, revisions, traffic.

They speak only the Kubernetes API (through :mod:`unkai.kube.client`), so they work the
same against ``unkai up`` and a cluster running Knative.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import lightkube
from lightkube.core.exceptions import ApiError

from unkai.api import yamlsource
from unkai.cli import console, objects, tables, target
from unkai.kube import client, deploy, kinds


def read_manifests(path: str) -> tuple[str, list[yamlsource.Document]]:
    """The documents of FILE (``-`` for standard input), with their lines."""
    source = "<stdin>" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as error:
        raise console.Failure(f"cannot read {path}: {error.strerror}") from None
    return source, yamlsource.load_documents(text, source=source)


def _field_line(document: yamlsource.Document, error: ApiError) -> str:
    """`` (line N)`` for the first field the server complained about, when we know it."""
    details = error.status.details
    for cause in (details.causes or []) if details else []:
        if cause.field:
            line = document.line_of(yamlsource.parse_path(cause.field))
            if line is not None:
                return f" (line {line})"
    return f" (document at line {document.start_line})"


@click.command()
@click.option("--filename", "-f", "path", required=True, help="YAML file, or - for stdin.")
@target.options
@target.output_option
def apply(path: str, context: str | None, namespace: str | None, output: str) -> None:
    """Create or update the objects in a (multi-document) YAML file."""
    source, documents = read_manifests(path)
    api = target.connect(context, namespace, changes=True)
    failures = 0
    applied: list[dict[str, Any]] = []
    for document in documents:
        manifest = document.data
        if not isinstance(manifest, dict):
            console.err.print(f"[red]{source}:{document.start_line}: not a Kubernetes object")
            failures += 1
            continue
        try:
            obj = client.to_object(manifest)
        except ValueError as error:  # an unknown kind, or a malformed object
            console.err.print(f"[red]{source}:{document.start_line}: {error}")
            failures += 1
            continue
        group = obj.apiVersion.rpartition("/")[0]
        name = f"{obj.kind.lower()}{'.' + group if group else ''}/{obj.metadata.name}"
        try:
            with target.api_errors():
                before = _get_or_none(api, obj)
                after = api.apply(obj, force=True)
        except console.Failure as failure:
            where = ""
            if isinstance(failure.__context__, ApiError):
                where = _field_line(document, failure.__context__)
            console.err.print(f"[red]{source}{where}: {name}: {failure.message}")
            failures += 1
            continue
        if output == "table":
            console.out.print(f"{name} {_verb(before, after)}")
        applied.append(client.to_dict(after))
    if output != "table":
        target.emit(applied, output)
    if failures:
        raise SystemExit(1)


def _get_or_none(api: lightkube.Client, obj: Any) -> Any:
    try:
        return api.get(type(obj), obj.metadata.name, namespace=obj.metadata.namespace)
    except ApiError as error:
        if error.status.code == 404:
            return None
        raise


def _verb(before: Any, after: Any) -> str:
    if before is None:
        return "created"

    def identity(obj: Any) -> tuple[Any, ...]:
        meta = obj.metadata  # status writes by controllers do not count as a change
        return meta.generation, meta.labels, meta.annotations, obj.to_dict().get("data")

    return "unchanged" if identity(before) == identity(after) else "configured"


def _service_and_revisions(
    name: str, context: str | None, namespace: str | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    api = target.connect(context, namespace)
    with target.api_errors(subject=name):
        service = client.to_dict(api.get(kinds.resource(kinds.SERVICE), name))
        selector: dict[str, Any] = {"serving.knative.dev/service": name}
        found = api.list(kinds.resource(kinds.REVISION), labels=selector)
        return service, [client.to_dict(obj) for obj in found]


@click.command(name="list")
@target.options
@target.output_option
def list_(context: str | None, namespace: str | None, output: str) -> None:
    """List Knative services with their URLs and readiness."""
    api = target.connect(context, namespace)
    with target.api_errors():
        services = [client.to_dict(obj) for obj in api.list(kinds.resource(kinds.SERVICE))]
    if output != "table":
        target.emit(services, output)
        return
    console.out.print(tables.services(services, now=datetime.now(UTC)))


@click.command()
@click.argument("name")
@target.options
@target.output_option
def describe(name: str, context: str | None, namespace: str | None, output: str) -> None:
    """Show a service (NAME): URL, conditions, revisions and traffic; or a broker or
    trigger (broker/NAME, trigger/NAME) with its event counts."""
    if "/" in name:
        objects.describe(name, context=context, namespace=namespace, output=output)
        return
    service, revisions = _service_and_revisions(name, context, namespace)
    if output != "table":
        target.emit(service, output)
        return
    for renderable in tables.describe(service, revisions):
        console.out.print(renderable)


@click.command()
@click.argument("name")
@target.options
def delete(name: str, context: str | None, namespace: str | None) -> None:
    """Delete a service, what it owns (configuration, route, revisions) and its Triggers.

    The Triggers are the ones ``unkai deploy`` made for it; they go even when the
    service is already gone, so nothing keeps subscribing on its behalf.
    """
    api = target.connect(context, namespace, changes=True)
    with target.api_errors(subject=name):
        triggers = deploy.function_triggers(api, name)
        try:
            api.delete(kinds.resource(kinds.SERVICE), name)
            console.out.print(f"service.serving.knative.dev/{name} deleted")
        except ApiError as error:
            if error.status.code != 404 or not triggers:
                raise
        for trigger in triggers:
            trigger_name = trigger["metadata"]["name"]
            api.delete(deploy.TRIGGER, trigger_name)
            console.out.print(f"trigger.eventing.knative.dev/{trigger_name} deleted")


@click.command()
@click.argument("name")
@target.options
@target.output_option
def revisions(name: str, context: str | None, namespace: str | None, output: str) -> None:
    """List the revisions of a service, newest first, with their traffic."""
    service, found = _service_and_revisions(name, context, namespace)
    if output != "table":
        target.emit(found, output)
        return
    console.out.print(tables.revisions(service, found))
