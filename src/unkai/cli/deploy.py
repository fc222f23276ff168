"""``unkai deploy``: ship a function directory to the platform and wait until it serves.

The directory is packed into a deterministic bundle (same files, same digest; what
``.funcignore`` names is left out), uploaded unless the platform has it, and applied as
a Knative Service whose image is the bundle's reference, together with exactly the
Triggers ``deploy.subscriptions`` asks for. An unchanged function therefore yields the
same Service and no new revision. The Service and Triggers pass a server-side dry run
before anything is uploaded or changed, so a refused Trigger (or a missing namespace)
leaves the deployed function as it was. While the new revision comes up (a first
install of requirements can take minutes) the progress line says what it is waiting
for; failure prints the revision's reason and message.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import click
from lightkube.core.exceptions import ApiError

from unkai.api import funcyaml
from unkai.cli import console, resources, tables, target
from unkai.kube import client, kinds, manifests, uploads
from unkai.platform import bundles
from unkai.platform.bundles import archive, ignore
from unkai.runtime import concurrency

DEFAULT_TIMEOUT = 600.0
"""Seconds to wait for Ready, as ``kn``'s ``--wait-timeout``: room for a first install."""


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@target.options
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until Ready.")
@click.option(
    "--timeout",
    type=float,
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds to wait for Ready (a first install of requirements can take minutes).",
)
def deploy(
    directory: Path, context: str | None, namespace: str | None, wait: bool, timeout: float
) -> None:
    """Deploy the function in DIRECTORY and print its URL.

    The namespace is -n's, else func.yaml's deploy.namespace, else the context's.
    """
    with console.reported():
        spec = funcyaml.load(directory)
    bundle = _pack(directory)
    api = target.connect(context, namespace)
    namespace = namespace or spec.deploy.namespace or api.namespace
    digest = "sha256:" + hashlib.sha256(bundle.data).hexdigest()
    image = bundles.format_reference(namespace=namespace, name=spec.name, digest=digest)
    service = manifests.make_service(
        spec,
        image=image,
        namespace=namespace,
        one_at_a_time=concurrency.one_at_a_time(directory, spec),
    )
    with target.api_errors(subject=spec.name):
        changes = manifests.trigger_changes(
            manifests.make_triggers(spec, namespace=namespace),
            resources.function_triggers(api, spec.name, namespace),
        )
        _dry_run(api, [service, *changes.checks], namespace=namespace)
    with console.err.status(f"Uploading {_size(len(bundle.data))}…"), target.api_errors():
        try:
            uploads.upload(api.config, bundle.data, digest=digest)
        except uploads.UploadError as error:
            raise console.Failure(str(error)) from None
    with target.api_errors(subject=spec.name):
        applied = target.to_dict(api.apply(client.to_object(service), force=True))
        generation = applied["metadata"]["generation"]
        console.err.print(
            f"Deployed {spec.name} to namespace {namespace} ({digest[:19]}…),"
            f" generation {generation}"
        )
        _apply_triggers(api, changes, namespace=namespace)
    if wait:
        applied = _wait_ready(
            api, spec.name, namespace=namespace, generation=generation, timeout=timeout
        )
    console.out.print(f"[bold green]{spec.name}[/] is at [bold]{applied['status'].get('url')}[/]")


def _pack(directory: Path) -> archive.Packed:
    """The function's bundle, refused here (not after an upload) when it is too large."""
    ignore_file = directory / ignore.IGNORE_FILE
    with console.err.status(f"Packing {directory}…"):
        try:
            bundle = archive.packed(directory)
        except archive.BundleError as error:
            raise console.Failure(
                f"cannot bundle {directory}: {error}. If the function does not need it, "
                f"leave it out with a line in {ignore_file}"
            ) from None
    summary = f"{bundle.files} files, {_size(bundle.size)} ({_size(len(bundle.data))} packed)"
    limit = bundles.DEFAULT_MAX_SIZE
    if max(bundle.size, len(bundle.data)) > limit:
        raise console.Failure(
            f"the bundle of {directory} is {summary}, more than the platform's limit of "
            f"{_size(limit)}: list what the function does not need (data, environments, "
            f"build output) in {ignore_file}"
        )
    console.err.print(f"Bundled {summary}")
    return bundle


def _dry_run(api: Any, documents: list[dict[str, Any]], *, namespace: str) -> None:
    """Have the server validate ``documents`` without storing them, so that a refusal (a
    Trigger's filter, a missing namespace) comes before anything is uploaded or changed."""
    try:
        for document in documents:
            api.apply(client.to_object(document), force=True, dry_run=True)
    except ApiError as error:
        details = error.status.details
        if error.status.code == 404 and details is not None and details.kind == "namespaces":
            raise console.Failure(
                f"namespace {namespace} does not exist: "
                f"create it with `kubectl create namespace {namespace}`"
            ) from None
        raise


def _apply_triggers(api: Any, changes: manifests.TriggerChanges, *, namespace: str) -> None:
    """Make the function's Triggers the wanted ones (a changed broker means a new Trigger)."""
    for trigger in changes.apply:
        api.apply(client.to_object(trigger), force=True)
    for name in changes.delete:
        api.delete(resources.TRIGGER, name, namespace=namespace)
        console.err.print(f"Deleted trigger {name} (no longer in deploy.subscriptions)")
    for trigger in changes.recreate:
        name = trigger["metadata"]["name"]
        api.delete(resources.TRIGGER, name, namespace=namespace)
        api.create(client.to_object(trigger))
        console.err.print(f"Recreated trigger {name} (its broker changed)")


def _wait_ready(
    api: Any, name: str, *, namespace: str, generation: int, timeout: float
) -> dict[str, Any]:
    """The service once Ready for ``generation``; a Failure when it fails or times out.

    Meanwhile the newest revision's conditions say what it waits for: on the progress
    line in a terminal, else one line each time it changes.
    """
    started = time.monotonic()
    said = ""
    with console.err.status("Waiting for the new revision…") as status, target.api_errors():
        while (elapsed := time.monotonic() - started) < timeout:
            service = target.to_dict(
                api.get(kinds.resource(kinds.SERVICE), name, namespace=namespace)
            )
            observed = service.get("status", {}).get("observedGeneration", 0)
            ready = tables.condition(service)
            if observed < generation:
                time.sleep(0.1)
                continue
            if ready.get("status") == "True":
                return service
            if ready.get("status") == "False":
                raise console.Failure(
                    f"{name} is not ready: {ready.get('reason')}: {ready.get('message')}"
                )
            now = _waiting_for(api, service, namespace=namespace)
            status.update(f"Waiting for {now} ({elapsed:.0f}s)")
            if now != said and not console.err.is_terminal:
                console.err.print(f"Waiting for {now}")
            said = now
            time.sleep(0.25)
    raise console.Failure(
        f"{name} was not ready after {timeout:.0f}s, waiting for {said or 'its revision'}"
        f" (see `unkai describe {name}`; a longer wait: --timeout)"
    )


def _waiting_for(api: Any, service: dict[str, Any], *, namespace: str) -> str:
    """``hello-00002: Deploying``: the newest revision and what its conditions say."""
    revision = service.get("status", {}).get("latestCreatedRevisionName")
    if not revision:
        return tables.pending(service) or "the new revision"
    found = target.to_dict(api.get(kinds.resource(kinds.REVISION), revision, namespace=namespace))
    return f"{revision}: {tables.pending(found) or 'starting'}"


def _size(count: int) -> str:
    """``812 B``, ``34.2 KiB``, ``24.0 MiB``."""
    if count < 1024:
        return f"{count} B"
    if count < 2**20:
        return f"{count / 1024:.1f} KiB"
    return f"{count / 2**20:.1f} MiB"
