"""What an http handler returns, made into a response that is valid on the wire.

uvicorn writes the status line and headers it is given, and only finds a bad status or
header once it has begun the response, when no error response can follow: the client
is just disconnected. So the status and headers of a reply are checked here, before
anything is sent, and a bad one is an error of the function (a 500 with an error id).

Framing is the runtime's business: ``Content-Length`` and ``Transfer-Encoding`` among a
tuple's headers are dropped (the runtime sets ``Content-Length`` itself), and a 204 or
304 goes out with neither body nor framing headers, whatever the handler gave, since a
body there would be read as the start of the next response on the connection. A 1xx
status is not a reply at all (it is interim), so a handler cannot return one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from starlette.responses import Response
from starlette.types import Message, Send

from unkai.runtime import replies

OCTETS: Final = b"application/octet-stream"
FRAMING: Final = frozenset({b"content-length", b"transfer-encoding"})
_TOKEN: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §5.6.2
_NOT_IN_VALUE: Final = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # controls but HTAB

Reply = tuple[int, bytes | None, bytes, list[tuple[bytes, bytes]]]


def reply(result: Any) -> Reply:
    """Status, content type, body and extra headers for a handler's return value."""
    status, headers = 200, []
    body = result
    if isinstance(result, tuple):
        if len(result) not in (2, 3):
            raise TypeError(
                f"handler returned a tuple of {len(result)}: use (body, status[, headers])"
            )
        body, status = result[0], check_status(result[1])
        headers = _headers(result[2]) if len(result) == 3 else []
    if body is None:
        return (204 if status == 200 else status), None, b"", headers
    content_type: bytes | None
    content_type, payload = _payload(body)
    if any(name == b"content-type" for name, _ in headers):
        content_type = None
    return status, content_type, payload, headers


def check(response: Response) -> int:
    """The status of a Starlette ``Response``; raise if it or a header cannot be sent."""
    for name, value in response.raw_headers:
        _check_header(name, value)
    return check_status(response.status_code)


def check_status(status: Any) -> int:
    """``status`` if a handler may reply with it (an int from 200 to 599), else raise."""
    if isinstance(status, int) and not isinstance(status, bool) and 200 <= status <= 599:
        return status
    raise ValueError(f"handler returned status {status!r}: use an int from 200 to 599")


def without_body(send: Send, on_body: Callable[[], None]) -> Send:
    """A ``send`` dropping the body and framing headers of a ``BODILESS`` response.

    ``on_body`` is called when there was a body to drop.
    """

    async def send_without_body(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(n, v) for n, v in message.get("headers", ()) if n.lower() not in FRAMING]
            message = {**message, "headers": headers}
        elif message.get("body"):
            on_body()
            message = {**message, "body": b""}
        await send(message)

    return send_without_body


def _payload(body: Any) -> tuple[bytes, bytes]:
    if isinstance(body, str):
        return replies.TEXT, body.encode()
    if isinstance(body, bytes | bytearray | memoryview):
        return OCTETS, bytes(body)
    if isinstance(body, dict | list):
        return replies.JSON, replies.json_body(body)
    raise TypeError(
        f"handler returned {type(body).__name__}: return str, bytes, dict, list, None or a Response"
    )


def _headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    encoded = []
    for name, value in pairs:
        if not (isinstance(name, str) and isinstance(value, str)):
            raise TypeError(f"handler returned header {name!r}: names and values must be str")
        try:
            raw = name.lower().encode("latin-1"), value.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(
                f"handler returned header {name!r} with characters beyond Latin-1"
            ) from None
        _check_header(*raw)
        if raw[0] not in FRAMING:
            encoded.append(raw)
    return encoded


def _check_header(name: bytes, value: bytes) -> None:
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"handler returned an invalid header name {name!r}")
    if _NOT_IN_VALUE.search(value):
        raise ValueError(
            f"handler returned header {name.decode('latin-1')!r} with an invalid value:"
            " CR, LF and other control characters are not allowed"
        )
