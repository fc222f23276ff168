"""``unkai deploy``: ship a function directory to the platform and wait until it serves.

The directory is packed into a deterministic bundle (same files, same digest), uploaded
unless the platform has it, and applied as a Knative Service whose image is the
bundle's reference. An unchanged function therefore yields the same Service and no new
revision. Progress shows while the new revision comes up; failure prints the
revision's reason and message.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import click

from unkai.api import funcyaml
from unkai.cli import console, tables, target
from unkai.kube import client, kinds, manifests, uploads
from unkai.platform import bundles


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@target.options
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until Ready.")
@click.option("--timeout", type=float, default=120, show_default=True, help="Seconds to wait.")
def deploy(
    directory: Path, context: str | None, namespace: str | None, wait: bool, timeout: float
) -> None:
    """Deploy the function in DIRECTORY and print its URL."""
    with console.reported():
        spec = funcyaml.load(directory)
    api = target.connect(context, namespace)
    namespace = spec.deploy.namespace or namespace or api.namespace
    with console.err.status(f"Packing {directory}…"):
        data = bundles.pack(directory)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with console.err.status(f"Uploading {len(data) / 1024:.0f} KiB…"), target.api_errors():
        try:
            uploads.upload(api.config, data, digest=digest)
        except uploads.UploadError as error:
            raise console.Failure(str(error)) from None
    image = bundles.format_reference(namespace=namespace, name=spec.name, digest=digest)
    documents = [
        manifests.make_service(spec, image=image, namespace=namespace),
        *manifests.make_triggers(spec, namespace=namespace),
    ]
    with target.api_errors(subject=spec.name):
        applied = [api.apply(client.to_object(document), force=True) for document in documents]
    service = target.to_dict(applied[0])
    generation = service["metadata"]["generation"]
    console.err.print(f"Deployed {spec.name} ({digest[:19]}…), generation {generation}")
    if wait:
        service = _wait_ready(api, spec.name, generation=generation, timeout=timeout)
    console.out.print(f"[bold green]{spec.name}[/] is at [bold]{service['status'].get('url')}[/]")


def _wait_ready(api: Any, name: str, *, generation: int, timeout: float) -> dict[str, Any]:
    """The service once Ready for ``generation``; a Failure when it fails or times out."""
    deadline = time.monotonic() + timeout
    resource = kinds.resource(kinds.SERVICE)
    with console.err.status("Waiting for the new revision…") as status, target.api_errors():
        while time.monotonic() < deadline:
            service = target.to_dict(api.get(resource, name))
            observed = service.get("status", {}).get("observedGeneration", 0)
            ready = tables.condition(service)
            if observed >= generation:
                if ready.get("status") == "True":
                    return service
                if ready.get("status") == "False":
                    raise console.Failure(
                        f"{name} is not ready: {ready.get('reason')}: {ready.get('message')}"
                    )
                if ready.get("message"):
                    status.update(f"Waiting: {ready['message']}")
            time.sleep(0.1)
    raise console.Failure(
        f"{name} was not ready after {timeout:.0f}s (see `unkai describe {name}`)"
    )
