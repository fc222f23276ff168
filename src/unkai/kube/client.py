"""One Kubernetes client for both targets: ``unkai up`` and a real cluster.

Every resource command goes through :func:`connect`. Which API it reaches is a matter
of configuration only: a kubeconfig context the user chose (:mod:`unkai.kube.contexts`),
else the locally running ``unkai up`` (found through its data dir). Never the
kubeconfig's current context on its own: a stopped local platform is an error saying
how to start it, not a quiet switch to whatever cluster kubectl last used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightkube
from lightkube.config.kubeconfig import KubeConfig

from unkai.errors import TargetError, UserError
from unkai.kube import contexts, kinds, kubeconfig

FIELD_MANAGER = "unkai"


class NoTargetError(TargetError, RuntimeError):
    """The target the user chose is not there: the local platform is stopped, or there
    is no kubeconfig for the cluster context."""


NOT_RUNNING = (
    "the local platform is not running: start it with `unkai up --detach` (or `unkai up`"
    " in another terminal), or choose a cluster with --context CTX, UNKAI_CONTEXT or "
    "`unkai context use CTX` (`unkai context list` shows them)"
)


def connect(
    *, context: str | None, local: Path | None, namespace: str | None = None
) -> lightkube.Client:
    """A client for the cluster ``context``, or (``None`` or :data:`contexts.LOCAL`) for
    the local platform whose kubeconfig file is ``local`` (``None``: not running)."""
    if context in (None, contexts.LOCAL):
        if local is None:
            raise NoTargetError(NOT_RUNNING)
        config = KubeConfig.from_file(local)
    else:
        path = kubeconfig.default_path()
        if not path.exists():
            raise NoTargetError(
                f"context {context}: there is no kubeconfig at {path} (set KUBECONFIG to "
                "the cluster's, or merge it into that file)"
            )
        contexts.check_known(kubeconfig.load(path), context, path)
        config = KubeConfig.from_file(path).get(context_name=context)  # type: ignore[assignment]
    return lightkube.Client(config=config, namespace=namespace, field_manager=FIELD_MANAGER)


class UnknownKindError(UserError, ValueError):
    """A manifest of a kind Unkai does not manage; the message lists the ones it does."""


def to_object(document: dict[str, Any]) -> Any:
    """A manifest dict as the lightkube object for its kind."""
    kind = kinds.find(str(document.get("apiVersion", "")), str(document.get("kind", "")))
    if kind is None:
        raise UnknownKindError(
            f"unkai does not manage {document.get('kind')!r} ({document.get('apiVersion')}); "
            "known kinds: " + ", ".join(sorted(known.kind for known in kinds.KNOWN))
        )
    return kinds.resource(kind).from_dict(document)


def to_dict(obj: Any) -> dict[str, Any]:
    """A lightkube object (or a mapping) as the plain dict the API sent."""
    result: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    return result
