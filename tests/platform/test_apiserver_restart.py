"""Persistence across restarts: stop the server, start another on the same data dir.

Every object comes back byte for byte (uid, resourceVersion, managedFields), new
writes get larger resourceVersions, a watch can resume from a version written before
the restart, and the TLS certificate (hence every written kubeconfig) stays valid.
"""

import json
from pathlib import Path

from .conftest import StartApi, run_api
from .test_apiserver_http import CONFIGMAPS, SERVICES, created, ksvc


def test_objects_and_versions_survive_a_restart(start_api: StartApi, tmp_path: Path) -> None:
    data_dir = tmp_path / "kept"
    with run_api(data_dir) as first, first.client() as http:
        for name in ("one", "two"):
            created(http, ksvc(name, labels={"n": name}))
        created(http, {"metadata": {"name": "cfg"}, "data": {"k": "v"}}, CONFIGMAPS)
        http.delete(f"{SERVICES}/two")
        before = http.get(SERVICES).json()
        configmaps = http.get(CONFIGMAPS).json()
        last = int(before["metadata"]["resourceVersion"])
        assert first.server.certificate is not None
        ca = first.server.certificate.ca_pem

    second = start_api(data_dir)
    assert second.server.certificate is not None
    assert second.server.certificate.ca_pem == ca
    with second.client() as http:
        after = http.get(SERVICES).json()
        assert after["items"] == before["items"]
        assert int(after["metadata"]["resourceVersion"]) == last
        assert http.get(CONFIGMAPS).json()["items"] == configmaps["items"]
        three = created(http, ksvc("three"))
        assert int(three["metadata"]["resourceVersion"]) > last
        with http.stream(
            "GET", SERVICES,
            params={"watch": "1", "resourceVersion": str(last - 1), "timeoutSeconds": "0.5"},
        ) as response:  # fmt: skip
            kinds = [json.loads(line)["type"] for line in response.iter_lines() if line]
        assert kinds == ["DELETED", "ADDED"]
