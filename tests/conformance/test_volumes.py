"""Knative's volume tests (``api/v1/volumes_test.go``) for a function bundle.

The process runner cannot mount at an absolute path without the sandbox's mount
namespace, so a bundle revision with ``volumeMounts`` must say so in its status
(``UnsupportedByRunner``, naming the paths) rather than run without its files. The
same tests pass for an image on the container runner (``test_container_runtime.py``).
"""

import pytest

from tests.conformance.conftest import Conformance
from tests.conformance.test_runtime import failed_with

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("name", "volume"),
    [
        ("config-map-volume", {"configMap": {"name": "vol-conf", "optional": True}}),
        ("secret-volume", {"secret": {"secretName": "vol-secret", "optional": True}}),
        ("empty-dir", {"emptyDir": {}}),
    ],
    ids=["TestConfigMapVolume", "TestSecretVolume", "TestServiceCreateWithEmptyDir"],
)
def test_volumes_on_the_process_runner(
    live: Conformance, name: str, volume: dict[str, object]
) -> None:
    mount = {"name": "v", "mountPath": "/etc/mounted", "readOnly": True}
    live.service_with(name, {"volumeMounts": [mount]}, volumes=[{"name": "v", **volume}])
    ready = failed_with(live, name, "UnsupportedByRunner")
    assert "cannot mount volumes at /etc/mounted" in ready["message"]
