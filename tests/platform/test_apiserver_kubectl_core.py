"""Real ``kubectl create`` of the built-in kinds, which kubectl sends as protobuf.

kubectl's typed clients post core/v1 objects as ``application/vnd.kubernetes.protobuf``
and accept JSON back. Aspects: ``create namespace``; ``create configmap`` from literals
and files (a binary file lands in ``binaryData``); ``create secret generic`` whose data
reads back through ``-o jsonpath`` and whose type defaults to ``Opaque``; ``create secret
tls``; ``--save-config`` keeps its annotation; the objects are then listed and deleted.
"""

import json
from base64 import b64decode
from pathlib import Path

import pytest

from .conftest import RunningApi

# The kubectl fixture (a kubeconfig for the test's server) is the one the Knative
# kubectl tests use.
from .test_apiserver_kubectl import KUBECTL, Kubectl, kubectl_fixture  # noqa: F401

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")

BINARY = b"\x00\xff\xfe binary \x80"


@pytest.mark.slow
def test_kubectl_creates_namespace_configmap_and_secrets(
    api: RunningApi, kubectl: Kubectl, tmp_path: Path
) -> None:
    assert kubectl("create", "namespace", "team-a") == "namespace/team-a created\n"
    namespace = json.loads(kubectl("get", "namespace", "team-a", "-o", "json"))
    assert namespace["status"]["phase"] == "Active"
    assert namespace["spec"]["finalizers"] == ["kubernetes"]

    (tmp_path / "blob.bin").write_bytes(BINARY)
    (tmp_path / "app.conf").write_text("port = 8080\n")
    created = kubectl(
        "create", "configmap", "cm1", "-n", "team-a", "--save-config", "--from-literal=a=b",
        f"--from-file={tmp_path / 'app.conf'}", f"--from-file=blob={tmp_path / 'blob.bin'}",
    )  # fmt: skip
    assert created == "configmap/cm1 created\n"
    config_map = json.loads(kubectl("get", "configmap", "cm1", "-n", "team-a", "-o", "json"))
    assert config_map["data"] == {"a": "b", "app.conf": "port = 8080\n"}
    assert b64decode(config_map["binaryData"]["blob"]) == BINARY
    annotations = config_map["metadata"]["annotations"]
    assert "kubectl.kubernetes.io/last-applied-configuration" in annotations

    kubectl("create", "secret", "generic", "s1", "-n", "team-a", "--from-literal=k=v")
    encoded = kubectl("get", "secret", "s1", "-n", "team-a", "-o", "jsonpath={.data.k}")
    assert b64decode(encoded) == b"v"
    kubectl(
        "create", "secret", "tls", "tls1", "-n", "team-a",
        f"--cert={api.data_dir / 'tls.crt'}", f"--key={api.data_dir / 'tls.key'}",
    )  # fmt: skip
    listing = [line.split()[:3] for line in kubectl("get", "secrets", "-n", "team-a").splitlines()]
    assert listing == [
        ["NAME", "TYPE", "DATA"], ["s1", "Opaque", "1"], ["tls1", "kubernetes.io/tls", "2"],
    ]  # fmt: skip

    assert kubectl("delete", "namespace", "team-a") == 'namespace "team-a" deleted\n'
    assert kubectl("get", "configmaps,secrets", "-n", "team-a", "-o", "name") == ""
