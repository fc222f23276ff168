"""The API server's certificate files, and what can be known of them without ``cryptography``.

Making or reading an X.509 certificate needs ``cryptography``, whose compiled extension
(it bundles its own OpenSSL) costs an idle ``unkai up`` about 8 MiB of RSS for work done
once per start at most (issue 12 asks for 60 MiB). So the platform never imports it: a
short-lived ``python -m unkai.certificates DIRECTORY HOST`` makes the files, and writes
beside them (last, after the certificate) the names the certificate was made for. A
restart on the same host reads that record and starts no child at all.

This module is imported by the platform, so it stays standard-library only; the child
is :mod:`unkai.certificates.__main__`.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

CA_FILE = "ca.crt"
CERT_FILE = "tls.crt"
KEY_FILE = "tls.key"
NAMES_FILE = "tls.names"
"""JSON list of the serving certificate's names, each as :func:`canonical` spells it."""

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
"""Names every serving certificate has, whatever host the server binds."""


def canonical(host: str) -> str:
    """``host`` as a certificate's subjectAltName entry compares it: an IP address in
    its compressed form (``0:0::1`` is ``::1``), a DNS name as written."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def names_for(host: str) -> list[str]:
    """The names of a certificate made for a server bound to ``host``, sorted."""
    return sorted({canonical(name) for name in (*LOOPBACK_NAMES, host)})


def recorded_names(directory: Path) -> frozenset[str]:
    """The names recorded for the certificate in ``directory``; none when a file is
    missing or the record is absent or unreadable (a data dir from before the record,
    or a run stopped while making the files): the child then decides."""
    paths = [directory / name for name in (CA_FILE, CERT_FILE, KEY_FILE)]
    if not all(path.is_file() for path in paths):
        return frozenset()
    try:
        names = json.loads((directory / NAMES_FILE).read_text())
    except (OSError, ValueError):
        return frozenset()
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        return frozenset()
    return frozenset(names)
