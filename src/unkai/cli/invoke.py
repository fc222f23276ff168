"""``unkai invoke``: call a function the way its signature expects.

A directory target is looked up in the run records (``unkai run`` must be serving
it); a URL target is called as is. CloudEvents are sent with the official SDK in
binary mode; a CloudEvent reply is decoded and shown attribute by attribute.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import httpx2
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from rich.markup import escape

from unkai.api import funcyaml
from unkai.cli import console, records

DEFAULT_EVENT_DATA = '{"message": "Hello World"}'
DEFAULT_TYPE = "dev.unkai.invoke"
DEFAULT_SOURCE = "/unkai/cli"


def resolve_target(target: str) -> tuple[str, str | None]:
    """(URL, declared signature) for a URL or a function directory."""
    if target.startswith(("http://", "https://")):
        return target, None
    directory = Path(target).resolve()
    if not directory.is_dir():
        raise console.Failure(f"{target} is neither a URL nor a function directory")
    record = records.read(directory)
    if record is None:
        raise console.Failure(
            f"nothing serves {target} locally: start it with `unkai run {target}`, "
            "or pass the function's URL"
        )
    signature = record.signature
    if signature is None and (directory / funcyaml.FILENAME).exists():
        spec = funcyaml.load(directory)
        signature = spec.signature.value if spec.signature else None
    return record.url, signature


def loopback_for(url: str) -> tuple[str, dict[str, str]]:
    """Browsers and curl send ``*.localhost`` to loopback, but the system resolver does
    not: connect to 127.0.0.1 and name the host in the ``Host`` header instead."""
    parsed = httpx2.URL(url)
    if parsed.host == "localhost" or parsed.host.endswith(".localhost"):
        host = parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"
        return str(parsed.copy_with(host="127.0.0.1")), {"Host": host}
    return url, {}


def read_data(data: str | None) -> str | None:
    """``--data`` as given, or the contents of the file it names with ``@file``."""
    if data is None or not data.startswith("@"):
        return data
    try:
        return Path(data[1:]).read_text()
    except OSError as error:
        raise console.Failure(f"cannot read {data[1:]}: {error.strerror}") from None


def parse_headers(values: tuple[str, ...]) -> dict[str, str]:
    headers = {}
    for value in values:
        name, colon, content = value.partition(":")
        if not colon or not name.strip():
            raise console.Failure(f"header {value!r} is not of the form 'Name: value'")
        headers[name.strip()] = content.strip()
    return headers


def build_event(data: str | None, *, event_type: str, source: str) -> CloudEvent:
    """A CloudEvent carrying ``data``: JSON when it parses as JSON, else text."""
    text = DEFAULT_EVENT_DATA if data is None else data
    try:
        payload: object = json.loads(text)
        content_type = "application/json"
    except ValueError:
        payload, content_type = text, "text/plain"
    attributes = {"type": event_type, "source": source, "datacontenttype": content_type}
    return CloudEvent(attributes, payload)  # type: ignore[arg-type]


@click.command()
@click.argument("target", default=".")
@click.option("--data", "-d", help="Body: JSON or text, or @FILE to read it from a file.")
@click.option("--cloudevent", "as_event", is_flag=True, help="Send a CloudEvent (binary mode).")
@click.option("--type", "event_type", default=DEFAULT_TYPE, show_default=True)
@click.option("--source", default=DEFAULT_SOURCE, show_default=True)
@click.option("--header", "-H", "header_values", multiple=True, help="'Name: value', repeatable.")
@click.option("--method", "-X", help="HTTP method (default: POST with data, else GET).")
@click.option("--path", default="/", show_default=True, help="Path to call on a directory target.")
@click.option("--verbose", "-v", is_flag=True, help="Show request and response headers.")
def invoke(
    target: str,
    data: str | None,
    as_event: bool,
    event_type: str,
    source: str,
    header_values: tuple[str, ...],
    method: str | None,
    path: str,
    verbose: bool,
) -> None:
    """Call a running function (TARGET: a function directory or a URL) and print the reply."""
    with console.reported():
        url, signature = resolve_target(target)
    if not target.startswith(("http://", "https://")):
        url = url.rstrip("/") + "/" + path.lstrip("/")
    body = read_data(data)
    url, headers = loopback_for(url)
    headers.update(parse_headers(header_values))
    if as_event or signature == "cloudevent":
        message = ce_http.to_binary(
            build_event(body, event_type=event_type, source=source), JSONFormat()
        )
        headers = {**message.headers, **headers}
        content: bytes | None = message.body
        method = method or "POST"
    else:
        if body is None and signature == "event":
            body = DEFAULT_EVENT_DATA
        content = body.encode() if body is not None else None
        if content is not None:
            headers.setdefault("Content-Type", _guess_type(body or ""))
        method = method or ("POST" if content is not None else "GET")
    try:
        with httpx2.Client(timeout=60.0) as client:
            response = client.request(method, url, content=content, headers=headers)
    except httpx2.TransportError as error:
        raise console.Failure(f"could not reach {url}: {error}") from None
    _show(response, verbose=verbose)
    if response.status_code >= 400:
        raise SystemExit(1)


def _guess_type(body: str) -> str:
    try:
        json.loads(body)
    except ValueError:
        return "text/plain; charset=utf-8"
    return "application/json"


def _show(response: httpx2.Response, *, verbose: bool) -> None:
    request = response.request
    if verbose:
        console.err.print(f"> {request.method} {request.url}")
        for name, value in request.headers.items():
            console.err.print(f"> {escape(name)}: {escape(value)}")
        console.err.print(f"< {response.status_code} {response.reason_phrase}")
        for name, value in response.headers.items():
            console.err.print(f"< {escape(name)}: {escape(value)}")
    elif response.status_code >= 300:
        console.err.print(f"[bold]{response.status_code} {response.reason_phrase}[/]")
    if any(name.lower().startswith("ce-") for name in response.headers) or response.headers.get(
        "content-type", ""
    ).startswith("application/cloudevents"):
        _show_event(response)
        return
    console.out.print(escape(_pretty(response.text)))


def _show_event(response: httpx2.Response) -> None:
    message = ce_http.HTTPMessage(headers=dict(response.headers), body=response.content)
    event = ce_http.from_http(message, JSONFormat())
    for name, value in event.get_attributes().items():
        console.out.print(f"[bold]{escape(name)}[/]: {escape(str(value))}")
    data = event.get_data()
    text = json.dumps(data, indent=2) if isinstance(data, dict | list) else str(data)
    console.out.print(escape(text))


def _pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text
