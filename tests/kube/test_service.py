"""The Knative Service deploy writes: containerConcurrency for a function whose
instances serve one request at a time (a sync handler on its importing thread).

Aspects: such a function gets containerConcurrency 1; func.yaml's
``deploy.concurrency`` wins when set; other functions leave it to Knative's default.
A gRPC function (``signature: grpc``) gets its port named ``h2c``.
"""

import pytest

from unkai.api import funcyaml
from unkai.kube.manifests import make_service


@pytest.mark.parametrize(
    ("deploy", "one_at_a_time", "expected"),
    [
        pytest.param("", True, 1, id="one at a time"),
        pytest.param("deploy: {concurrency: 4}\n", True, 4, id="func.yaml wins"),
        pytest.param("deploy: {concurrency: 0}\n", True, 0, id="func.yaml wins, unlimited"),
        pytest.param("", False, None, id="Knative's default"),
    ],
)
def test_container_concurrency(deploy: str, one_at_a_time: bool, expected: int | None) -> None:
    spec = funcyaml.parse(f"name: hello\n{deploy}")
    service = make_service(spec, image="img", namespace="ns", one_at_a_time=one_at_a_time)
    assert service["spec"]["template"]["spec"].get("containerConcurrency") == expected


@pytest.mark.parametrize(
    ("signature", "ports"),
    [
        pytest.param("grpc", [{"name": "h2c", "containerPort": 8080}], id="grpc: h2c"),
        pytest.param("http", None, id="http: Knative's default port"),
    ],
)
def test_a_grpc_function_gets_an_h2c_port(signature: str, ports: object) -> None:
    spec = funcyaml.parse(f"name: hello\nsignature: {signature}\n")
    service = make_service(spec, image="img", namespace="ns")
    assert service["spec"]["template"]["spec"]["containers"][0].get("ports") == ports
