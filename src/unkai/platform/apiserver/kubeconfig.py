"""A kubeconfig for a running API server: what ``kubectl`` and lightkube load.

``unkai up`` writes one for its users; tests write one per server.
"""

from __future__ import annotations

import base64
from typing import Any


def kubeconfig(
    *,
    server: str,
    token: str,
    ca_pem: bytes | None,
    name: str = "unkai",
    namespace: str = "default",
) -> dict[str, Any]:
    """A single-context kubeconfig (as a dict, ready for YAML or ``KubeConfig.from_dict``)."""
    cluster: dict[str, Any] = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [
            {"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}
        ],
        "current-context": name,
    }
