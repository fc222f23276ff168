"""One Kubernetes client for both targets: ``unkai up`` and a real cluster.

Every resource command goes through :func:`connect`. Which API it reaches is a matter
of configuration only: an explicit kubeconfig context, else the locally running
``unkai up`` (found through its data dir), else the kubeconfig's current context.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightkube
from lightkube.config.kubeconfig import KubeConfig

from unkai.errors import TargetError, UserError
from unkai.kube import kinds, kubeconfig

FIELD_MANAGER = "unkai"


class NoTargetError(TargetError, RuntimeError):
    """Neither a running ``unkai up`` nor a kubeconfig to talk to."""


def connect(
    *, context: str | None, local: Path | None, namespace: str | None = None
) -> lightkube.Client:
    """A client for ``context``, else for the ``local`` platform's kubeconfig file,
    else for the user's kubeconfig."""
    if context is None and local is not None:
        config = KubeConfig.from_file(local)
    else:
        path = kubeconfig.default_path()
        if not path.exists():
            raise NoTargetError(
                "no Unkai platform is running here and there is no kubeconfig: "
                "start one with `unkai up`, or point KUBECONFIG at a cluster"
            )
        config = KubeConfig.from_file(path)
        if context is not None:
            config = config.get(context_name=context)  # type: ignore[assignment]
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
