"""``unkai deploy --image``: build, push to a real registry on loopback, apply the
Service naming the pushed image by digest, wait for Ready, against ``unkai up`` as the
stand-in cluster (its revisions fare as the test says, or as its real data plane makes
them when it cannot run the image)."""

import re
from pathlib import Path

import lightkube
import pytest
import yaml
from click.testing import CliRunner
from tests.build.registries import LocalRegistry, manifest_of, push_base_image
from tests.controllers.readiness import READY, InMemoryReadiness
from tests.kube.test_deploy import Recorded
from tests.support.embedded import embedded

from unkai.build import image, references
from unkai.build.registry import RegistryError
from unkai.cli.main import cli
from unkai.kube import client, deploy, images, kinds
from unkai.platform.embedded import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def hello(tmp_path: Path) -> Path:
    directory = tmp_path / "hello"
    directory.mkdir()
    (directory / "func.yaml").write_text("name: hello\nrequirements: []\n")
    (directory / "func.py").write_text("def handle(request):\n    return 'hello'\n")
    return directory


@pytest.fixture(scope="module")
def caches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``UNKAI_CACHE_DIR`` for the module: the runtime layer is made once."""
    return tmp_path_factory.mktemp("caches")


def _ship(
    api: lightkube.Client, hello: Path, registry: LocalRegistry, tmp_path: Path,
    caches: Path, **options: object,
) -> tuple[dict[str, object], Recorded, str]:  # fmt: skip
    base = push_base_image(registry, tmp_path / "base") if not (tmp_path / "base").exists() else (
        f"{registry.host}/base/python:1")  # fmt: skip
    progress = Recorded()
    prepared = deploy.prepare(hello, progress)
    build = image.Options(base, cache=caches / "images")
    pinned = images.build_and_push(hello, f"{registry.host}/fn/hello:1", progress, options=build)
    service = deploy.deploy(api, prepared, progress, deploy.Options(image=pinned, **options))  # type: ignore[arg-type]
    return service, progress, pinned


def test_the_service_runs_the_pushed_image_by_digest(
    hello: Path, registry: LocalRegistry, tmp_path: Path, caches: Path
) -> None:
    readiness = InMemoryReadiness()
    readiness.set("hello-00001", READY)
    settings = Settings(data_dir=tmp_path / "data", api_port=0, gateway_port=0)
    with (
        embedded(settings, readiness=readiness) as platform,
        client.connect(context=None, local=platform.files.kubeconfig, namespace="default") as api,
    ):
        service, progress, pinned = _ship(api, hello, registry, tmp_path, caches)

        digest, _ = manifest_of(registry, f"{registry.host}/fn/hello:1")
        assert pinned == f"{registry.host}/fn/hello:1@{digest}"
        container = service["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
        assert container["image"] == pinned
        assert not any(step.startswith("Uploading") for step in progress.steps)
        assert f"Deployed hello to namespace default ({pinned}), generation 1" in progress.notes
        assert not progress.open

        _, _, same = _ship(api, hello, registry, tmp_path, caches)  # unchanged: same digest
        assert same == pinned
        revisions = api.list(kinds.resource(kinds.REVISION), namespace="default")
        assert [revision.metadata.name for revision in revisions] == ["hello-00001"]


def test_an_image_the_platform_cannot_run_is_applied_and_its_failure_read(
    hello: Path, registry: LocalRegistry, tmp_path: Path, caches: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", api_port=0, gateway_port=0)
    with (
        embedded(settings) as platform,
        client.connect(context=None, local=platform.files.kubeconfig, namespace="default") as api,
        pytest.raises(deploy.NotReadyError) as raised,
    ):
        _ship(api, hello, registry, tmp_path, caches, timeout=60)
    assert re.match(r"hello is not ready: \w+: ", str(raised.value)), raised.value


def test_a_cluster_context_without_an_image_is_refused_before_anything_is_built(
    hello: Path,
) -> None:
    result = CliRunner().invoke(cli, ["deploy", str(hello)], env={"UNKAI_CONTEXT": "prod"})
    assert result.exit_code == 1
    assert "context prod is a cluster: it runs images, not bundles" in result.stderr
    assert "--image" in result.stderr


def test_a_dry_run_pins_the_digest_a_push_then_gives_and_pushes_nothing(
    hello: Path, registry: LocalRegistry, tmp_path: Path, caches: Path
) -> None:
    base = push_base_image(registry, tmp_path / "base")
    env = {"UNKAI_CACHE_DIR": str(caches), "UNKAI_DATA_DIR": str(tmp_path / "data")}
    ref = f"{registry.host}/fn/hello:1"
    options = ["--image", ref, "--base-image", base]
    printed = CliRunner().invoke(cli, ["deploy", str(hello), "--dry-run", *options], env=env)
    assert printed.exit_code == 0, printed.output
    [service] = yaml.safe_load_all(printed.stdout)
    pinned = service["spec"]["template"]["spec"]["containers"][0]["image"]
    with registry.client() as client, pytest.raises(RegistryError, match="not found"):
        client.manifest(references.parse(ref))  # nothing was pushed

    same_cache = image.Options(base, cache=caches / "images")
    assert images.build_and_push(hello, ref, Recorded(), options=same_cache) == pinned
