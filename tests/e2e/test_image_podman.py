"""One image ref runs in both places, for real: ``unkai deploy --context --image`` builds
the function on a Debian Python base (no daemon), pushes it to a real registry on
loopback, and applies it through a cluster context that names ``unkai up``; ``unkai up``
pulls the image with podman (plain HTTP: the registry is on loopback) and runs it in a
container; the URL answers. Nothing here is mocked; it skips, saying why, where podman
or mmdebstrap cannot run."""

import shutil
import subprocess
from pathlib import Path

import httpx2
import pytest
import yaml
from click.testing import CliRunner

from tests.build import python_base
from tests.build.registries import LocalRegistry
from tests.support.embedded import embedded
from unkai.cli.main import cli
from unkai.platform.embedded import Settings
from unkai.platform.runners.container import PODMAN_OPTIONS

pytestmark = pytest.mark.slow


def _podman_works() -> None:
    podman = shutil.which("podman")
    if podman is None:
        pytest.skip("podman is not installed (Debian: apt-get install podman runc)")
    info = subprocess.run(
        [podman, *PODMAN_OPTIONS, "info"], capture_output=True, text=True, timeout=60, check=False
    )
    if info.returncode != 0:
        last = (info.stderr.strip().splitlines() or ["failed"])[-1]
        pytest.skip(f"podman is installed but `podman info` fails here: {last}")


def test_a_pushed_image_is_deployed_through_a_context_and_served_by_podman(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    _podman_works()
    base = python_base.push(registry, tmp_path / "base")
    function = tmp_path / "hello"
    function.mkdir()
    (function / "func.yaml").write_text("name: hello\nrequirements: []\n")
    (function / "func.py").write_text(
        "import sys\n\n\ndef handle(request):\n"
        "    return {'from': sys.executable, 'python': sys.version.split()[0]}\n"
    )
    settings = Settings(data_dir=tmp_path / "data", api_port=0, gateway_port=0)
    with embedded(settings) as platform:
        config = yaml.safe_load(platform.files.kubeconfig.read_text())
        config["contexts"][0]["name"] = config["current-context"] = "stand-in"
        (tmp_path / "kube").write_text(yaml.safe_dump(config))
        env = {
            "KUBECONFIG": str(tmp_path / "kube"),
            "UNKAI_DATA_DIR": str(tmp_path / "user-data"),  # no local platform there
            "UNKAI_CACHE_DIR": str(tmp_path / "cache"),
            "UNKAI_CONTEXT": "",
        }
        image = f"{registry.host}/fn/hello:1"
        deployed = CliRunner().invoke(
            cli,
            ["deploy", str(function), "--context", "stand-in", "--image", image,
             "--base-image", base, "--timeout", "240"],
            env=env,
        )  # fmt: skip
        assert deployed.exit_code == 0, deployed.output
        said = deployed.stderr.splitlines()
        target = next(i for i, line in enumerate(said) if line.startswith("Target: "))
        pushed = next(i for i, line in enumerate(said) if line.startswith(f"Pushed {image}@"))
        assert said[target].startswith("Target: context stand-in (https://127.0.0.1:")
        assert target < pushed  # before anything is built, pushed or applied
        assert "hello is at http://hello.default.localhost:" in deployed.stdout

        port = platform.gateway.port
        answer = httpx2.get(
            f"http://127.0.0.1:{port}/", headers={"Host": "hello.default.localhost"}, timeout=30
        )
    pinned = said[pushed].split()[1]  # the platform keeps what it pulled, as a kubelet does
    subprocess.run(["podman", "rmi", "--force", pinned], capture_output=True, check=False)
    assert answer.status_code == 200, answer.text
    assert answer.json()["from"] == "/usr/bin/python3"  # Debian's, inside the container
    assert answer.json()["python"].startswith(python_base.python() + ".")
