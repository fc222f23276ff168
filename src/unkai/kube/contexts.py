"""Which target a command talks to, and how the user chose it: never a surprise.

The local platform (``unkai up``, context :data:`LOCAL`) is the target unless the user
chose a cluster, in this order: ``--context``, ``UNKAI_CONTEXT``, the choice saved by
``unkai context use`` (a one-line file in the data dir, beside the local platform it
replaces). The kubeconfig's own ``current-context`` does not choose: it is kubectl's,
and may name a production cluster the user set for kubectl long ago. Unkai used to
fall back to it when the local platform was down, so a deploy meant for a laptop went
to whatever cluster that was; now a stopped local platform is an error that says how
to start it (:mod:`unkai.kube.client`).

:func:`choose` and :func:`listed` are pure; reading and saving the choice are the thin
I/O around them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from unkai.errors import UserError
from unkai.kube import kubeconfig

LOCAL: Final = kubeconfig.CONTEXT
"""The local platform's context name (``unkai``), as ``unkai kubeconfig`` writes it."""
ENVIRONMENT: Final = "UNKAI_CONTEXT"
CHOICE_FILE: Final = "context"


class UnknownContextError(UserError):
    """A context the kubeconfig does not have; the message lists the ones it has."""


@dataclass(frozen=True)
class Choice:
    """The context a command talks to, and what chose it (for the target line)."""

    context: str
    source: str

    @property
    def local(self) -> bool:
        return self.context == LOCAL


def choose(*, flag: str | None, environment: str | None, saved: str | None) -> Choice:
    """The first of ``--context``, ``UNKAI_CONTEXT`` and ``unkai context use``'s choice
    that is set; else the local platform."""
    for value, source in (
        (flag, "--context"),
        (environment, ENVIRONMENT),
        (saved, "`unkai context use`"),
    ):
        if value:
            return Choice(value, source)
    return Choice(LOCAL, "default")


@dataclass(frozen=True)
class Entry:
    """A context ``unkai context list`` shows."""

    name: str
    server: str
    namespace: str
    current: bool


def listed(user: dict[str, Any], local: dict[str, Any] | None, current: str) -> list[Entry]:
    """The local platform first (its server from ``local``, its own kubeconfig, or
    ``(not running)``), then the contexts of the user's kubeconfig ``user`` in its
    order; an entry of ``user`` named :data:`LOCAL` is the local platform, not listed
    twice."""
    local_server = server_of(local, LOCAL) if local else None
    entries = [Entry(LOCAL, local_server or "(not running)", "default", current == LOCAL)]
    for context in user.get("contexts") or []:
        name = str(context.get("name", ""))
        if name and name != LOCAL:
            server, namespace = server_of(user, name) or "?", namespace_of(user, name)
            entries.append(Entry(name, server, namespace or "default", current == name))
    return entries


def server_of(config: dict[str, Any], context: str) -> str | None:
    """The API server URL ``context`` points at in the kubeconfig ``config``."""
    cluster = _context(config, context).get("cluster")
    for entry in config.get("clusters") or []:
        if entry.get("name") == cluster:
            server = (entry.get("cluster") or {}).get("server")
            return str(server) if server else None
    return None


def namespace_of(config: dict[str, Any], context: str) -> str | None:
    """The namespace ``context`` sets in the kubeconfig ``config``, if it sets one."""
    namespace = _context(config, context).get("namespace")
    return str(namespace) if namespace else None


def _context(config: dict[str, Any], name: str) -> dict[str, Any]:
    for entry in config.get("contexts") or []:
        if entry.get("name") == name:
            return dict(entry.get("context") or {})
    return {}


def check_known(user: dict[str, Any], context: str, path: Path) -> None:
    """Refuse a context (other than the local platform's) that ``user`` (read from
    ``path``) does not have, naming the ones it has."""
    if context == LOCAL:
        return
    names = [str(entry.get("name")) for entry in user.get("contexts") or []]
    if context not in names:
        have = ", ".join(name for name in names if name != LOCAL) or "none"
        raise UnknownContextError(
            f"context {context} is not in {path} (its contexts: {have}; the local "
            f"platform is {LOCAL})"
        )


def read_saved(data_dir: Path) -> str | None:
    """The context ``unkai context use`` saved under ``data_dir``, if any."""
    try:
        return (data_dir / CHOICE_FILE).read_text().strip() or None
    except FileNotFoundError:
        return None


def save(data_dir: Path, context: str) -> None:
    """Save ``context`` as the choice; the local platform's name removes the choice."""
    path = data_dir / CHOICE_FILE
    if context == LOCAL:
        path.unlink(missing_ok=True)
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(context + "\n")
