"""Who a bearer token is: the platform's admin, or a tenant of one namespace.

``unkai up`` makes one admin token (``platform/token``), which may do anything. A
tenant token (``unkai token create --namespace NS``) may act only inside its namespace,
as a Kubernetes service account bound to a namespaced Role would. Tenant tokens are
kept in ``platform/tokens.json`` as SHA-256 digests, never in clear, so reading the file
gives no token; the running API server reads it again whenever it changes, so a token
works as soon as it is created and stops when it is removed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

FILE: Final = "tokens.json"
"""The tenant tokens' file, in the API server's data dir (``platform/``)."""


@dataclass(frozen=True)
class Identity:
    """Who is asking: ``namespace`` ``None`` is the admin, otherwise a tenant of it."""

    name: str
    namespace: str | None = None

    @property
    def user(self) -> str:
        """The user name in Kubernetes' form, as refusals print it."""
        if self.namespace is None:
            return "unkai:admin"
        return f"system:serviceaccount:{self.namespace}:{self.name}"


ADMIN = Identity("admin")


class TokenBook:
    """The admin token and the tenant tokens of ``path``."""

    def __init__(self, *, admin: str, path: Path | None = None) -> None:
        if not admin:
            raise ValueError("an empty token would admit anyone")
        self._admin = admin.encode()
        self._path = path
        self._seen: tuple[int, int] | None = None
        self._tenants: dict[str, Identity] = {}

    def identify(self, presented: bytes) -> Identity | None:
        """The identity behind a presented token, or ``None`` for an unknown one."""
        if hmac.compare_digest(presented, self._admin):
            return ADMIN
        self._reload()
        return self._tenants.get(_digest(presented))

    def _reload(self) -> None:
        if self._path is None:
            return
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            self._tenants, self._seen = {}, None
            return
        if self._seen == (stat.st_mtime_ns, stat.st_size):
            return
        self._tenants = {
            entry["sha256"]: Identity(entry["name"], entry["namespace"])
            for entry in _entries(self._path)
        }
        self._seen = (stat.st_mtime_ns, stat.st_size)


def create(path: Path, *, namespace: str, name: str) -> str:
    """A new tenant token for ``namespace``, recorded (as a digest) in ``path``."""
    token = secrets.token_urlsafe(32)
    entries = [e for e in _entries(path) if (e["namespace"], e["name"]) != (namespace, name)]
    entries.append({"name": name, "namespace": namespace, "sha256": _digest(token.encode())})
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(prefix=".tokens-", dir=path.parent)
    with os.fdopen(descriptor, "w") as out:  # mkstemp makes it 0600
        json.dump(entries, out, indent=1)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    return token


def revoke(path: Path, *, namespace: str, name: str) -> bool:
    """Remove a tenant token; whether there was one."""
    entries = _entries(path)
    kept = [e for e in entries if (e["namespace"], e["name"]) != (namespace, name)]
    if len(kept) == len(entries):
        return False
    path.write_text(json.dumps(kept, indent=1))
    return True


def tenants(path: Path) -> list[Identity]:
    """The tenant tokens recorded in ``path`` (who they are; the tokens are not kept)."""
    return sorted(
        (Identity(entry["name"], entry["namespace"]) for entry in _entries(path)),
        key=lambda identity: (identity.namespace or "", identity.name),
    )


def _entries(path: Path) -> list[dict[str, str]]:
    try:
        loaded = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    return [dict(entry) for entry in loaded]


def _digest(token: bytes) -> str:
    return hashlib.sha256(token).hexdigest()
