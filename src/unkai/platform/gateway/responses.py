"""Responses the gateway writes itself, when no instance answers.

Bodies are short plain text a person can act on; the error bodies of timeouts and
overload are Knative's own words, so scripts written against Knative keep matching.
"""

from __future__ import annotations

from collections.abc import Container
from http import HTTPStatus
from typing import Final

REQUEST_TIMEOUT: Final = b"request timeout"
ACTIVATOR_TIMEOUT: Final = b"activator request timeout"
QUEUE_FULL: Final = b"pending request queue full"
REVISION_GONE: Final = b"the revision this request was waiting for was deleted"
AT_CAPACITY: Final = b"the gateway is at its connection limit and no connection is idle"


def unavailable(revision: str, service: str, namespace: str, reason: str, message: str) -> bytes:
    """Why a revision the platform stopped starting answers no request: its status reason
    and message, and where to read more."""
    return (
        f"revision {revision} is not starting instances ({reason}): {message}\n"
        f"See why with: unkai logs {service} -n {namespace}\n"
    ).encode()


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


def not_found(host: bytes, hosts: Container[bytes], *, port: int, domain: str) -> bytes:
    """Why nothing answered ``host`` and how to find out more. It names only the host
    asked for: what else is served here (other namespaces' services) is not the
    caller's to see (issue 13). ``hosts`` (the served ones) tells a removed tag of a
    served service from a service that is not served."""
    name = host.decode(errors="replace")
    lines = [f"No route for host {name!r}." if host else "The request has no Host header."]
    tagged = _tag_of(host, hosts)
    service = _service_of(host, domain)
    if tagged is not None:
        tag, served = tagged
        service_name, namespace = _service_of(served, domain) or (served.decode(), "?")
        lines.append(
            f"Service {service_name} in {namespace} has no tag {tag!r}; "
            f"see its tags with: unkai describe {service_name} -n {namespace}"
        )
    elif service is not None:
        service_name, namespace = service
        lines.append(
            f"If service {service_name} exists in {namespace}, it has no ready revision yet; "
            f"see why with: unkai describe {service_name} -n {namespace}"
        )
    example = name.partition(":")[0] if host else f"SERVICE.NAMESPACE.{domain}"
    lines.append(
        f"Routes are chosen by the Host header, e.g. curl http://{example}:{port}/ "
        f"or curl -H 'Host: {example}' http://127.0.0.1:{port}/"
    )
    return ("\n".join(lines) + "\n").encode()


def _tag_of(host: bytes, hosts: Container[bytes]) -> tuple[str, bytes] | None:
    """``(tag, service host)`` when ``host`` is ``{tag}-{a served host}``: a tag that
    is not (or no longer) routed, of a service that is."""
    name = host.partition(b":")[0].rstrip(b".").lower()
    label, dot, rest = name.partition(b".")
    dash = label.find(b"-")
    while dot and dash > 0:
        candidate = label[dash + 1 :] + dot + rest
        if candidate in hosts:
            return label[:dash].decode(errors="replace"), candidate
        dash = label.find(b"-", dash + 1)
    return None


def _service_of(host: bytes, domain: str) -> tuple[str, str] | None:
    """``(service, namespace)`` when ``host`` has the shape of a route's host,
    ``{service}.{namespace}.{domain}``; else ``None``."""
    suffix = "." + domain
    name = host.decode(errors="replace").partition(":")[0].rstrip(".").lower()
    if not name.endswith(suffix):
        return None
    labels = name[: -len(suffix)].split(".")
    return (labels[0], labels[1]) if len(labels) == 2 and all(labels) else None
