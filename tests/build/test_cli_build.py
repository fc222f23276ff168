"""``unkai build`` as a user runs it: OCI layouts that a real tool (skopeo) reads and
copies unchanged, and ``--push`` to a real registry on loopback."""

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.build.registries import LocalRegistry, manifest_of, push_base_image

from unkai.cli.main import cli

pytestmark = pytest.mark.slow


@pytest.fixture
def base_ref(registry: LocalRegistry, tmp_path: Path) -> str:
    return push_base_image(registry, tmp_path / "base")


@pytest.fixture
def cache(image_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNKAI_CACHE_DIR", str(image_cache.parent / "cli-cache"))


def _skopeo() -> str:
    found = shutil.which("skopeo")
    if found is None:
        pytest.skip("skopeo is not installed (Debian: apt-get install skopeo)")
    return found


def _build(*args: str) -> tuple[str, str]:
    result = CliRunner().invoke(cli, ["build", *args])
    assert result.exit_code == 0, result.output
    return result.stdout.strip(), result.stderr


@pytest.mark.usefixtures("wheelhouse", "cache")
def test_skopeo_reads_the_layout_and_copies_the_archive_unchanged(
    hello: Path, base_ref: str, registry: LocalRegistry, tmp_path: Path
) -> None:
    skopeo = _skopeo()
    layout, archive = tmp_path / "layout", tmp_path / "hello.tar"
    digest, _ = _build(str(hello), "--base-image", base_ref, "--output", str(layout))
    again, _ = _build(str(hello), "--base-image", base_ref, "--output", str(archive))
    assert again == digest

    raw = subprocess.run([skopeo, "inspect", "--raw", f"oci:{layout}:latest"],
                         capture_output=True, check=True).stdout  # fmt: skip
    index = json.loads((layout / "index.json").read_text())
    assert index["manifests"][0]["digest"] == digest
    assert (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes() == raw

    destination = f"docker://{registry.host}/fn/copied:1"
    subprocess.run(
        [skopeo, "copy", "--dest-tls-verify=false", f"oci-archive:{archive}", destination],
        capture_output=True, check=True,
    )  # fmt: skip
    assert manifest_of(registry, f"{registry.host}/fn/copied:1")[0] == digest


@pytest.mark.usefixtures("wheelhouse", "cache")
def test_push_prints_the_digest_and_says_what_went_up(
    hello: Path, base_ref: str, registry: LocalRegistry
) -> None:
    reference = f"{registry.host}/fn/hello:1"
    digest, said = _build(str(hello), "--base-image", base_ref, "--push", "--image", reference)
    assert manifest_of(registry, reference)[0] == digest
    assert f"Pushed {reference}@{digest} (blobs: 1 mounted, 4 uploaded)" in said

    _, again = _build(str(hello), "--base-image", base_ref, "--push", "--image", reference)
    assert "(blobs: 5 present)" in again


def test_push_needs_an_image_reference(hello: Path) -> None:
    result = CliRunner().invoke(cli, ["build", str(hello), "--push"])
    assert result.exit_code == 2
    assert "--push needs --image REF" in result.stderr


@pytest.mark.usefixtures("wheelhouse", "cache")
def test_the_code_layer_leaves_out_what_funcignore_names(
    hello: Path, base_ref: str, tmp_path: Path
) -> None:
    (hello / ".funcignore").write_text("notes/\n*.csv\n")
    (hello / "notes").mkdir()
    (hello / "notes" / "todo.md").write_text("later")
    (hello / "data.csv").write_text("1,2\n")
    (hello / ".venv").mkdir()  # the bundles' defaults apply too
    layout = tmp_path / "layout"
    digest, _ = _build(str(hello), "--base-image", base_ref, "--output", str(layout))

    blobs = layout / "blobs" / "sha256"
    manifest = json.loads((blobs / digest.removeprefix("sha256:")).read_text())
    code = blobs / manifest["layers"][-1]["digest"].removeprefix("sha256:")
    with tarfile.open(code) as tar:
        names = set(tar.getnames())
    assert names == {"app", "app/.funcignore", "app/func.py", "app/func.yaml"}
