"""``unkai invoke``: call a function the way its signature expects.

TARGET is a URL (called as is), a function directory, or a service's name. A directory
that ``unkai run`` serves is called there (its run record gives the signature it runs
with); otherwise the deployed service of that name (the directory's func.yaml name) is
called at its URL, found through the same target as the resource commands (the local
``unkai up``, else the kubeconfig; ``--context``, ``-n``). CloudEvents are sent with the
official SDK in binary mode. The response body goes to stdout byte for byte, so it can
be piped; the status, headers and a CloudEvent reply's attributes go to stderr.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click
import httpx2
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from lightkube.core.exceptions import ApiError, ConfigError
from rich.text import Text

from unkai.api import funcyaml, yamlsource
from unkai.cli import console, records
from unkai.cli import target as targets
from unkai.cli.payloads import interpret, loopback_for, read_data
from unkai.kube import client, kinds

DEFAULT_EVENT_DATA = b'{"message": "Hello World"}'
DEFAULT_TYPE = "dev.unkai.invoke"
DEFAULT_SOURCE = "/unkai/cli"


def resolve_target(
    target: str, path: str | None, *, context: str | None = None, namespace: str | None = None
) -> tuple[str, str | None]:
    """(URL, signature) for a URL; for the function ``unkai run`` serves from a
    directory; else for the deployed service named ``target`` (or the directory's
    func.yaml name), with ``path`` appended."""
    if target.startswith(("http://", "https://")):
        if path is not None:
            raise click.UsageError("--path is for a directory or name target: put it in the URL")
        return target, None
    directory = Path(target)
    record = records.read(directory.resolve()) if directory.is_dir() else None
    if record is not None and record.url is not None:
        return _joined(record.url, path), record.signature
    spec = _spec(directory)
    name = spec.name if spec is not None else target
    url = _deployed_url(name, context=context, namespace=namespace)
    if url is not None:
        return _joined(url, path), str(spec.signature) if spec and spec.signature else None
    if record is not None:
        raise console.Failure(
            f"{target} is not running: {record.down} (`unkai run`, pid {record.pid})"
        )
    if spec is None and not directory.is_dir():
        raise console.Failure(
            f"{target} is neither a URL, a function directory nor a deployed service "
            "(see `unkai list`)"
        )
    raise console.Failure(
        f"nothing serves {target}: start it with `unkai run {target}`, deploy it with "
        f"`unkai deploy {target}`, or pass the function's URL"
    )


def _joined(url: str, path: str | None) -> str:
    return url.rstrip("/") + "/" + (path or "/").lstrip("/")


def _spec(directory: Path) -> funcyaml.FuncSpec | None:
    """The func.yaml of ``directory``, when it is a function directory with a valid one."""
    if not (directory / funcyaml.FILENAME).is_file():
        return None
    try:
        return funcyaml.load(directory)
    except yamlsource.SourceError:
        return None


def _deployed_url(name: str, *, context: str | None, namespace: str | None) -> str | None:
    """The URL of service ``name`` on the target, or ``None`` when there is no such
    service, or no target to ask."""
    if not re.fullmatch(funcyaml.DNS_LABEL, name):
        return None
    try:
        api = targets.connect(context, namespace)
        service = client.to_dict(api.get(kinds.resource(kinds.SERVICE), name))
    except ApiError as error:
        if error.status.code == 404:
            return None
        raise
    except (client.NoTargetError, ConfigError, console.Failure, httpx2.TransportError):
        return None
    url = service.get("status", {}).get("url")
    return str(url) if url else None


def parse_headers(values: tuple[str, ...]) -> dict[str, str]:
    headers = {}
    for value in values:
        name, colon, content = value.partition(":")
        if not colon or not name.strip():
            raise console.Failure(f"header {value!r} is not of the form 'Name: value'")
        headers[name.strip()] = content.strip()
    return headers


def build_request(
    body: bytes | None, *, signature: str | None, as_event: bool, event_type: str, source: str
) -> tuple[httpx2.Headers, bytes | None]:
    """Headers and content for ``body``: for the cloudevent signature, a binary-mode
    CloudEvent carrying it (or default data); for event, it or default data (the
    function takes no empty event); else the body as it is."""
    if as_event or signature == "cloudevent":
        payload, content_type = interpret(DEFAULT_EVENT_DATA if body is None else body)
        attributes = {"type": event_type, "source": source, "datacontenttype": content_type}
        event = CloudEvent(attributes, payload)  # type: ignore[arg-type]
        message = ce_http.to_binary(event, JSONFormat())
        return httpx2.Headers(message.headers), message.body
    if body is None and signature == "event":
        body = DEFAULT_EVENT_DATA
    if body is None:
        return httpx2.Headers(), None
    return httpx2.Headers({"Content-Type": interpret(body)[1]}), body


@click.command()
@click.argument("target", default=".")
@click.option("--data", "-d", help="Body: JSON, text, or @FILE to send a file's bytes.")
@click.option("--cloudevent", "as_event", is_flag=True, help="Send a CloudEvent (binary mode).")
@click.option("--type", "event_type", default=DEFAULT_TYPE, show_default=True)
@click.option("--source", default=DEFAULT_SOURCE, show_default=True)
@click.option("--header", "-H", "header_values", multiple=True, help="'Name: value', repeatable.")
@click.option("--method", "-X", help="HTTP method (default: POST with data, else GET).")
@click.option("--path", help="Path to call on a directory or name target  [default: /]")
@click.option("--verbose", "-v", is_flag=True, help="Show request and response headers.")
@targets.options
def invoke(
    target: str,
    data: str | None,
    as_event: bool,
    event_type: str,
    source: str,
    header_values: tuple[str, ...],
    method: str | None,
    path: str | None,
    verbose: bool,
    context: str | None,
    namespace: str | None,
) -> None:
    """Call a function (TARGET: a URL, a function directory, or a deployed service's
    name) and print the reply."""
    with targets.api_errors(subject=target):
        url, signature = resolve_target(target, path, context=context, namespace=namespace)
    url, host = loopback_for(url)
    headers, content = build_request(
        read_data(data),
        signature=signature,
        as_event=as_event,
        event_type=event_type,
        source=source,
    )
    headers.update(host)
    headers.update(parse_headers(header_values))
    method = method or ("POST" if content is not None else "GET")
    try:
        with httpx2.Client(timeout=60.0) as client:
            response = client.request(method, url, content=content, headers=headers)
    except httpx2.TransportError as error:
        raise console.Failure(f"could not reach {url}: {error}") from None
    _show(response, verbose=verbose)
    if response.status_code >= 400:
        raise SystemExit(1)


def _show(response: httpx2.Response, *, verbose: bool) -> None:
    """The status and headers (when asked) on stderr; the body, untouched, on stdout."""
    request = response.request
    status = f"{response.status_code} {response.reason_phrase}"
    if verbose:
        _note(f"> {request.method} {request.url}")
        for name, value in request.headers.items():
            _note(f"> {name}: {value}")
        _note(f"< {status}")
        for name, value in response.headers.items():
            _note(f"< {name}: {value}")
    elif response.status_code != 200 or not response.content:
        _note(status + ("" if response.content else " (no body)"), style="bold")
    if any(name.lower().startswith("ce-") for name in response.headers) or response.headers.get(
        "content-type", ""
    ).startswith("application/cloudevents"):
        _show_attributes(response)
    sys.stdout.buffer.write(response.content)
    sys.stdout.buffer.flush()
    if sys.stdout.isatty() and response.content and not response.content.endswith(b"\n"):
        sys.stderr.write("\n")  # the prompt on a line of its own


def _show_attributes(response: httpx2.Response) -> None:
    message = ce_http.HTTPMessage(headers=dict(response.headers), body=response.content)
    event = ce_http.from_http(message, JSONFormat())
    for name, value in event.get_attributes().items():
        _note(f"{name}: {value}")


def _note(text: str, *, style: str = "") -> None:
    """A line for the user, on stderr, shown as it is (no markup, no emoji codes)."""
    console.err.print(Text(text, style=style))
