"""Real ``kubectl`` against the API server: the compatibility users rely on.

kubectl sends its bearer token only over HTTPS, so the server serves TLS and the
kubeconfig carries the CA. Aspects: client-side ``apply`` (create, then update through
the last-applied annotation and a JSON merge patch), ``apply --server-side``, ``get``
(table, ``-o yaml``), ``describe``, ``patch --type merge``, ``delete``, and
``get -w`` seeing a new object.
"""

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from .conftest import RunningApi

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")

SERVICE = """\
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: {name}
spec:
  template:
    spec:
      containers:
        - image: example.com/hello
          env:
            - name: TARGET
              value: {target}
"""

Kubectl = Callable[..., str]


@pytest.fixture(name="kubectl")
def kubectl_fixture(api: RunningApi, tmp_path: Path) -> Kubectl:
    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump(api.kubeconfig()))
    env = {**os.environ, "KUBECONFIG": str(config), "HOME": str(tmp_path)}

    def run(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [str(KUBECTL), "--cache-dir", str(tmp_path / "cache"), *args],
            input=stdin, capture_output=True, text=True, env=env, timeout=30, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"kubectl {' '.join(args)}:\n{done.stderr}"
        return done.stdout

    run.env = env  # type: ignore[attr-defined]
    return run


@pytest.mark.slow
def test_kubectl_apply_get_describe_patch_delete(kubectl: Kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "ksvc.yaml"
    manifest.write_text(SERVICE.format(name="hello", target="World"))
    assert "service.serving.knative.dev/hello created" in kubectl("apply", "-f", str(manifest))
    manifest.write_text(SERVICE.format(name="hello", target="Unkai"))
    assert "service.serving.knative.dev/hello configured" in kubectl("apply", "-f", str(manifest))
    listing = kubectl("get", "ksvc").splitlines()
    assert listing[0].split() == ["NAME", "URL", "LATESTCREATED", "LATESTREADY", "READY", "REASON"]
    assert listing[1].split() == ["hello"]
    obj = yaml.safe_load(kubectl("get", "ksvc", "hello", "-o", "yaml"))
    assert obj["metadata"]["generation"] == 2
    assert obj["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] == "Unkai"
    assert "kubectl.kubernetes.io/last-applied-configuration" in obj["metadata"]["annotations"]
    described = kubectl("describe", "ksvc", "hello")
    assert "Name:         hello" in described
    assert "Value:  Unkai" in described
    kubectl("patch", "ksvc", "hello", "--type", "merge", "-p", '{"metadata":{"labels":{"x":"y"}}}')
    assert (
        kubectl("get", "ksvc", "-l", "x=y", "-o", "name") == "service.serving.knative.dev/hello\n"
    )
    applied = kubectl("apply", "--server-side", "-f", str(manifest))
    assert "serverside-applied" in applied
    assert 'service.serving.knative.dev "hello" deleted' in kubectl("delete", "ksvc", "hello")
    assert kubectl("get", "ksvc", "-o", "name") == ""


def open_watches(api: RunningApi) -> float:
    with api.client() as http:
        for line in http.get("/metrics").text.splitlines():
            if line.startswith('unkai_apiserver_watches{resource="services.serving.knative.dev"}'):
                return float(line.split()[-1])
    return 0.0


def test_kubectl_get_watch_prints_new_objects(
    api: RunningApi, kubectl: Kubectl, tmp_path: Path
) -> None:
    env = kubectl.env  # type: ignore[attr-defined]
    output = tmp_path / "watch.out"
    with output.open("w") as sink:
        watcher = subprocess.Popen(
            [str(KUBECTL), "--cache-dir", str(tmp_path / "cache"), "get", "ksvc", "-w"],
            stdout=sink, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while open_watches(api) < 1:
                assert time.monotonic() < deadline, output.read_text()
                assert watcher.poll() is None, output.read_text()
                time.sleep(0.05)
            kubectl("apply", "-f", "-", stdin=SERVICE.format(name="watched", target="x"))
            while "watched" not in output.read_text():
                assert time.monotonic() < deadline, output.read_text()
                assert watcher.poll() is None, output.read_text()
                time.sleep(0.05)
        finally:
            watcher.kill()
            watcher.wait()
    lines = output.read_text().splitlines()
    assert lines[0].split()[:3] == ["NAME", "URL", "LATESTCREATED"]
    assert lines[1].split() == ["watched"]
