"""``unkai send``: post one CloudEvent to a broker (or any URL) and print the answer.

With ``--broker B`` the URL is the Broker's ``status.address.url`` on the target (the
local ``unkai up``, else the kubeconfig, ``--context``, ``-n``); a URL argument is used
as written. The event is made and encoded by the official CloudEvents SDK, in binary
mode unless ``--structured``. A broker answers ``202 Accepted`` once the event is
stored; anything of 400 or more is printed with its body and exits 1.
"""

from __future__ import annotations

import uuid

import click
import httpx2
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from rich.text import Text

from unkai.cli import console, payloads, target
from unkai.kube import client, eventing, kinds


@click.command()
@click.argument("url", required=False)
@click.option("--broker", help="Send to this broker (instead of a URL).")
@click.option("--type", "event_type", required=True, help="The event's type attribute.")
@click.option("--source", required=True, help="The event's source attribute (a URI-reference).")
@click.option("--id", "event_id", help="The event's id (default: a new UUID).")
@click.option("--data", "-d", help="The data: JSON, text, or @FILE for a file's bytes.")
@click.option(
    "--extension", "-e", "extensions", multiple=True, metavar="NAME=VALUE",
    help="An extension attribute; repeatable.",
)  # fmt: skip
@click.option("--structured", is_flag=True, help="Send in structured mode (one JSON document).")
@target.options
def send(
    url: str | None,
    broker: str | None,
    event_type: str,
    source: str,
    event_id: str | None,
    data: str | None,
    extensions: tuple[str, ...],
    structured: bool,
    context: str | None,
    namespace: str | None,
) -> None:
    """Send a CloudEvent to a broker (--broker B) or to URL, and print the status."""
    if (url is None) == (broker is None):
        raise click.UsageError("give either --broker NAME or a URL")
    attributes: dict[str, object] = {"type": event_type, "source": source,
                                     "id": event_id or str(uuid.uuid4())}  # fmt: skip
    attributes.update(_extension(text) for text in extensions)
    body = payloads.read_data(data)
    payload: object = None
    if body is not None:
        payload, attributes["datacontenttype"] = payloads.interpret(body)
    event = CloudEvent(attributes, payload)  # type: ignore[arg-type]
    message = (ce_http.to_structured if structured else ce_http.to_binary)(event, JSONFormat())
    address = url or _broker_url(str(broker), context=context, namespace=namespace)
    reached, host = payloads.loopback_for(address)
    try:
        with httpx2.Client(timeout=60.0) as http:
            response = http.post(reached, content=message.body,
                                 headers={**message.headers, **host})  # fmt: skip
    except httpx2.TransportError as error:
        raise console.Failure(f"could not reach {address}: {error}") from None
    status = f"{response.status_code} {response.reason_phrase}"
    if response.status_code >= 400:
        detail = response.text.strip()
        raise console.Failure(f"{address}: {status}" + (f": {detail}" if detail else ""))
    console.out.print(Text(f"{status} (id {attributes['id']})"))


def _extension(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not eventing.ATTRIBUTE.fullmatch(name):
        raise eventing.FlagError(
            "--extension", f"{text!r}: give NAME=VALUE, NAME of a-z and 0-9 only"
        )
    return name, value


def _broker_url(name: str, *, context: str | None, namespace: str | None) -> str:
    api = target.connect(context, namespace)
    with target.api_errors(subject=f"--broker {name}"):
        found = client.to_dict(api.get(kinds.resource(kinds.BROKER), name))
    address = eventing.address(found)
    if address is None:
        raise console.Failure(f"--broker {name}: the broker has no address yet (not Ready)")
    return address
