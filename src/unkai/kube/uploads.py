"""Uploading a function bundle to ``unkai up`` (its extension next to the Kubernetes API).

The upload uses the same kubeconfig context as every other command: server, CA and
token. Bundles are kept per namespace: a bundle the namespace already has (same digest)
is not sent again.
"""

from __future__ import annotations

import base64
import ssl
from pathlib import Path

import httpx2
from lightkube.config.kubeconfig import SingleConfig

from unkai.errors import TargetError
from unkai.platform.bundles.endpoint import path


class UploadError(TargetError, RuntimeError):
    """The platform refused the bundle, or is not an Unkai platform at all."""


def http_client(config: SingleConfig) -> httpx2.Client:
    """An HTTP client for the platform's own endpoints beside the Kubernetes API
    (bundles, ``/metrics``), with the context's server, CA and token."""
    cluster, user = config.cluster, config.user
    verify: ssl.SSLContext | bool = True
    if cluster.certificate_auth_data:
        pem = base64.b64decode(cluster.certificate_auth_data).decode()
        verify = ssl.create_default_context(cadata=pem)
    elif cluster.certificate_auth:
        verify = ssl.create_default_context(
            cafile=str(Path(config.abs_file(cluster.certificate_auth)))
        )
    headers = {"Authorization": f"Bearer {user.token}"} if user and user.token else {}
    return httpx2.Client(base_url=cluster.server, headers=headers, verify=verify, timeout=120)


def upload(config: SingleConfig, data: bytes, *, namespace: str, digest: str) -> bool:
    """Send the bundle to ``namespace`` unless it has it; whether it was sent."""
    with http_client(config) as client:
        url = path(namespace, digest)
        present = client.head(url)
        if present.status_code == 200:
            return False
        if present.status_code != 404:
            server, code = config.cluster.server, present.status_code
            raise UploadError(
                f"{server} does not take function bundles (HTTP {code}): "
                "`unkai deploy` needs `unkai up`; for a Knative cluster, build an image"
            )
        response = client.put(url, content=data, headers={"Content-Type": "application/gzip"})
        if response.status_code != 201:
            raise UploadError(f"the platform refused the bundle: {response.text.strip()}")
        return True
