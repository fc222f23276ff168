"""Knative's volume tests (``api/v1/volumes_test.go``) for a function bundle.

In the sandbox (on wherever bubblewrap works, as here) the process runner binds each
volume at its ``mountPath``: ConfigMap and Secret volumes, plain and projected with
items, read-only (TestConfigMapVolume, TestSecretVolume, TestProjectedConfigMapVolume,
TestProjectedSecretVolume, TestProjectedComplex), an
``emptyDir`` writable (TestServiceCreateWithEmptyDir) and one with ``medium: Memory`` a
tmpfs of its ``sizeLimit``; an update of the ConfigMap reaches the mounted file. The
same tests pass for an image on the container runner (``test_container_runtime.py``).
A projected service account token (TestProjectedServiceAccountToken) fails the revision
with ``FailedMount``: there are no service accounts' tokens here.
"""

import pytest

from tests.conformance.conftest import Conformance, until
from unkai.kube import kinds
from unkai.platform.runners.sandbox import Sandbox

pytestmark = pytest.mark.slow


def file_text(live: Conformance, name: str, path: str) -> str:
    response = live.get(name, f"/file?path={path}")
    assert response.status_code == 200, response.text
    return response.text


@pytest.fixture(scope="module")
def mounted(live: Conformance) -> str:
    """A bundle Service with every kind of volume, ready (one instance kept)."""
    if not (sandbox := Sandbox.detect()).enabled:
        pytest.skip(f"bundles' volumes need the sandbox, which is off here: {sandbox.gaps}")
    volumes, mounts = live.every_volume_kind()
    live.service_with(
        "bundle-volumes", {"volumeMounts": mounts}, volumes=volumes,
        annotations={"autoscaling.knative.dev/min-scale": "1"},
    )  # fmt: skip
    live.ready("bundle-volumes")
    return "bundle-volumes"


def test_config_map_volume(live: Conformance, mounted: str) -> None:
    """Every key a file; an optional ConfigMap that does not exist is an empty mount."""
    assert file_text(live, mounted, "/etc/conf/greeting") == "hello"
    assert file_text(live, mounted, "/etc/conf/other") == "x"
    assert live.get(mounted, "/file?path=/etc/missing/any").status_code == 404
    # the system's /etc is still there around the new mount points
    assert "root" in file_text(live, mounted, "/etc/passwd")


def test_secret_volume(live: Conformance, mounted: str) -> None:
    assert file_text(live, mounted, "/etc/secret/token") == "s3cr3t"


def test_projected_config_map_volume(live: Conformance, mounted: str) -> None:
    """A projected ConfigMap with ``items``: only the listed key, at its ``path``."""
    assert file_text(live, mounted, "/etc/both/g") == "hello"
    assert live.get(mounted, "/file?path=/etc/both/other").status_code == 404  # not an item


def test_projected_secret_volume(live: Conformance, mounted: str) -> None:
    assert file_text(live, mounted, "/etc/both/token") == "s3cr3t"


def test_projected_complex(live: Conformance, mounted: str) -> None:
    """A ConfigMap (with items) and a Secret projected side by side in one volume."""
    listing = {name: file_text(live, mounted, f"/etc/both/{name}") for name in ("g", "token")}
    assert listing == {"g": "hello", "token": "s3cr3t"}


def test_projected_service_account_token(live: Conformance) -> None:
    """There are no service account tokens on ``unkai up``: the revision fails with the
    kubelet's ``FailedMount`` and says why, rather than mounting nothing."""
    if not (sandbox := Sandbox.detect()).enabled:
        pytest.skip(f"bundles' volumes need the sandbox, which is off here: {sandbox.gaps}")
    volume = {
        "name": "token",
        "projected": {
            "sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}]
        },
    }
    mount = {"name": "token", "mountPath": "/var/run/secrets/tokens", "readOnly": True}
    live.service_with("sa-token", {"volumeMounts": [mount]}, volumes=[volume])
    failed = live.condition(
        "sa-token-00001",
        kinds.REVISION,
        "Ready",
        lambda c: c["status"] == "False" and c.get("reason") == "FailedMount",
    )
    assert "serviceAccountToken" in failed["message"]


def test_config_and_secret_volumes_are_read_only(live: Conformance, mounted: str) -> None:
    for path in ("/etc/conf/new", "/etc/secret/token", "/etc/both/g"):
        response = live.get(mounted, f"/write?path={path}")
        assert response.status_code == 403, (path, response.text)


def test_service_create_with_empty_dir(live: Conformance, mounted: str) -> None:
    assert live.get(mounted, "/write?path=/data/f").text == "ok"
    assert file_text(live, mounted, "/data/f") == "ok"
    table = file_text(live, mounted, "/proc/mounts").splitlines()
    found = {fields[1]: fields for fields in (line.split() for line in table)}
    assert found["/cache"][2] == "tmpfs"  # emptyDir medium: Memory
    assert "size=1024k" in found["/cache"][3]  # its sizeLimit, 1Mi
    assert live.get(mounted, "/write?path=/cache/f").text == "ok"


def test_an_updated_config_map_reaches_the_mounted_file(live: Conformance, mounted: str) -> None:
    live.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "vol-conf"},
                "data": {"greeting": "updated"}})  # fmt: skip
    until(lambda: file_text(live, mounted, "/etc/conf/greeting") == "updated",
          timeout=20, what="the mounted file follows the ConfigMap")  # fmt: skip
    assert file_text(live, mounted, "/etc/both/g") == "updated"
    assert live.get(mounted, "/file?path=/etc/conf/other").status_code == 404
