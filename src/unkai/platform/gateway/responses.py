"""Responses the gateway writes itself, when no instance answers.

Bodies are short plain text a person can act on; the error bodies of timeouts and
overload are Knative's own words, so scripts written against Knative keep matching.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import Final

REQUEST_TIMEOUT: Final = b"request timeout"
ACTIVATOR_TIMEOUT: Final = b"activator request timeout"
QUEUE_FULL: Final = b"pending request queue full"
REVISION_GONE: Final = b"the revision this request was waiting for was deleted"
MAX_LISTED_HOSTS: Final = 20


def local(status: int, body: bytes, *, close: bool) -> bytes:
    """A complete ``text/plain`` response."""
    reason = HTTPStatus(status).phrase.encode()
    return b"".join(
        (
            b"HTTP/1.1 %d %s\r\n" % (status, reason),
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n" if close else b"",
            b"\r\n",
            body,
        )
    )


def not_found(host: bytes, hosts: Iterable[bytes], *, port: int, domain: str) -> bytes:
    """Why nothing answered ``host``, what would have, and how to ask for it."""
    known = sorted(hosts)
    lines = [
        f"No route for host {host.decode(errors='replace')!r}."
        if host
        else "The request has no Host header, so no route can be chosen."
    ]
    service = _service_of(host, domain)
    if service is not None:
        name, namespace = service
        lines.append(
            f"If service {name} exists in {namespace}, it has no ready revision yet; "
            f"see why with: unkai describe {name} -n {namespace}"
        )
    if known:
        lines.append("Hosts served here:")
        lines += [f"  {name.decode()}" for name in known[:MAX_LISTED_HOSTS]]
        if len(known) > MAX_LISTED_HOSTS:
            lines.append(f"  ... and {len(known) - MAX_LISTED_HOSTS} more")
        example = known[0].decode()
    else:
        lines.append("No routes are served yet: deploy a service first.")
        example = f"hello.default.{domain}"
    lines.append(
        f"Routes are chosen by the Host header, e.g. curl http://{example}:{port}/ "
        f"or curl -H 'Host: {example}' http://127.0.0.1:{port}/"
    )
    return ("\n".join(lines) + "\n").encode()


def _service_of(host: bytes, domain: str) -> tuple[str, str] | None:
    """``(service, namespace)`` when ``host`` has the shape of a route's host,
    ``{service}.{namespace}.{domain}``; else ``None``."""
    suffix = "." + domain
    name = host.decode(errors="replace").partition(":")[0].rstrip(".").lower()
    if not name.endswith(suffix):
        return None
    labels = name[: -len(suffix)].split(".")
    return (labels[0], labels[1]) if len(labels) == 2 and all(labels) else None
