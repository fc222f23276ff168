"""The Knative Service deploy writes: containerConcurrency for a function whose
instances serve one request at a time (a sync handler on its importing thread).

Aspects: such a function gets containerConcurrency 1; func.yaml's
``deploy.concurrency`` wins when set; other functions leave it to Knative's default.
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
