"""What ``invoke`` and ``send`` put on the wire: a ``--data`` flag read as given or from
``@file``, read as JSON, text or bytes, and ``*.localhost`` URLs reached on loopback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx2

from unkai.cli import console


def loopback_for(url: str) -> tuple[str, dict[str, str]]:
    """Browsers and curl send ``*.localhost`` to loopback, but the system resolver does
    not: connect to 127.0.0.1 and name the host in the ``Host`` header instead."""
    parsed = httpx2.URL(url)
    if parsed.host == "localhost" or parsed.host.endswith(".localhost"):
        host = parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"
        return str(parsed.copy_with(host="127.0.0.1")), {"Host": host}
    return url, {}


def read_data(data: str | None) -> bytes | None:
    """``--data`` as given, or the bytes of the file it names with ``@file``."""
    if data is None or not data.startswith("@"):
        return None if data is None else os.fsencode(data)
    try:
        return Path(data[1:]).read_bytes()
    except OSError as error:
        raise console.Failure(f"cannot read {data[1:]}: {error.strerror}") from None


def interpret(body: bytes) -> tuple[object, str]:
    """``body`` as a payload and its content type: JSON, else UTF-8 text, else bytes."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return body, "application/octet-stream"
    try:
        return json.loads(text), "application/json"
    except ValueError:
        return text, "text/plain; charset=utf-8"
