"""``unkai build`` against a real registry: images made without a daemon, pushed and
read back, the same digest for the same inputs, layers reused, auth refused clearly."""

import base64
import gzip
import io
import json
import os
import socket
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.build import tokens
from tests.build.registries import LocalRegistry, manifest_of, push_base_image, running

from unkai.build import image, oci, push, references, sources
from unkai.build.credentials import Credentials
from unkai.build.registry import Registry, RegistryAuthError, RegistryError
from unkai.cli.main import cli

pytestmark = pytest.mark.slow


class Recorded:
    def __init__(self) -> None:
        self.steps: list[str] = []
        self.transfers: list[tuple[str, int, int]] = []

    def step(self, activity: str) -> None:
        self.steps.append(activity)

    def transfer(self, what: str, done: int, total: int) -> None:
        self.transfers.append((what, done, total))


@pytest.fixture
def base_ref(registry: LocalRegistry, tmp_path: Path) -> str:
    return push_base_image(registry, tmp_path / "base")


def _build(directory: Path, base_ref: str, cache: Path) -> oci.Image:
    return image.build(directory, image.Options(base_ref, cache=cache), Recorded())


def _entries(built: oci.Image, index: int) -> dict[str, tarfile.TarInfo]:
    data = gzip.decompress(built.blobs.read(built.layers[index].digest))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {member.name: member for member in tar.getmembers()}


def test_image_runs_the_runtime_as_non_root_on_port_8080(
    hello: Path, wheelhouse: Path, base_ref: str, image_cache: Path
) -> None:
    built = _build(hello, base_ref, image_cache)

    config = json.loads(built.config)
    settings = config["config"]
    assert settings["Entrypoint"] == ["python3", "-m", "unkai.runtime", "/app"]
    assert "PORT=8080" in settings["Env"]
    assert f"PYTHONPATH=/{sources.DEPS}:/{sources.RUNTIME}" in settings["Env"]
    assert settings["User"].split(":")[0] not in ("", "0", "root")
    labels = settings["Labels"]
    assert labels["dev.unkai.function"] == "hello"
    assert labels["dev.unkai.signature"] == "http"
    assert labels["org.opencontainers.image.base.name"] == base_ref
    # base layer, runtime, dependencies, code; the config lists each layer's tar digest
    assert len(built.layers) == 4
    assert len(config["rootfs"]["diff_ids"]) == 4
    assert labels["dev.unkai.source-digest"] == config["rootfs"]["diff_ids"][-1]
    assert json.loads(built.manifest)["config"]["digest"] == built.config_descriptor.digest


def test_layers_hold_runtime_dependencies_and_code_owned_by_root(
    hello: Path, wheelhouse: Path, base_ref: str, image_cache: Path
) -> None:
    built = _build(hello, base_ref, image_cache)

    runtime, deps, code = (_entries(built, index) for index in (1, 2, 3))
    assert f"{sources.RUNTIME}/unkai/runtime/process.py" in runtime
    assert f"{sources.RUNTIME}/starlette/__init__.py" in runtime
    assert f"{sources.DEPS}/greeting/__init__.py" in deps
    assert not any("/starlette/" in name for name in deps)  # the runtime's copy is the one
    assert "app/func.py" in code
    assert not any("__pycache__" in name for name in code)
    for member in [*code.values(), *deps.values()]:
        assert (member.uid, member.gid, member.mtime) == (0, 0, 0)


def test_same_inputs_give_the_same_digest_and_changed_code_only_a_new_code_layer(
    hello: Path, wheelhouse: Path, base_ref: str, image_cache: Path
) -> None:
    first = _build(hello, base_ref, image_cache)
    os.utime(hello / "func.py", (1_000_000, 1_000_000))
    again = _build(hello, base_ref, image_cache)
    assert again.digest == first.digest

    (hello / "func.py").write_text("def handle(request):\n    return 'changed'\n")
    changed = _build(hello, base_ref, image_cache)
    assert changed.digest != first.digest
    assert changed.layers[:3] == first.layers[:3]
    assert changed.layers[3] != first.layers[3]


def test_a_requirement_without_a_wheel_is_named(
    hello: Path, wheelhouse: Path, base_ref: str, image_cache: Path
) -> None:
    (hello / "func.yaml").write_text("specVersion: '1'\nname: hello\nrequirements: [nowhere]\n")
    with pytest.raises(sources.NoWheelError, match=r"requirement nowhere has no wheel for linux/"):
        _build(hello, base_ref, image_cache)


def test_push_then_pull_back_the_same_manifest_and_skip_what_is_there(
    hello: Path, wheelhouse: Path, registry: LocalRegistry, base_ref: str, image_cache: Path
) -> None:
    built = _build(hello, base_ref, image_cache)
    target = references.parse(f"{registry.host}/fn/hello:v1")
    progress = Recorded()
    with Registry(registry.host, None, chunk_size=64 * 1024) as client:
        pinned, counts = push.push(built, target, client, progress)
        assert counts == {"mounted": 1, "uploaded": 4}  # the base layer comes from base/python
        digest, document = manifest_of(registry, str(target))
        assert digest == built.digest
        assert pinned == f"{target}@{built.digest}"
        assert document["layers"] == [layer.to_json() for layer in built.layers]
        # the runtime layer is larger than a chunk: it went up in several PATCHes
        runtime = built.layers[1]
        sent = [done for what, done, _ in progress.transfers if what == runtime.digest[7:19]]
        assert len(sent) > 1
        assert sent[-1] == runtime.size

        _, again = push.push(built, target, client, Recorded())
        assert again == {"present": 5}


def test_a_pushed_image_builds_on_as_a_base(
    hello: Path, wheelhouse: Path, registry: LocalRegistry, base_ref: str, image_cache: Path
) -> None:
    built = _build(hello, base_ref, image_cache)
    target = references.parse(f"{registry.host}/fn/hello:v1")
    with registry.client() as client:
        push.push(built, target, client, Recorded())
        media_type, data = client.manifest(target)
    assert media_type == oci.MANIFEST
    assert oci.digest_of(data) == built.digest


def test_basic_auth_with_docker_config_and_a_wrong_password(
    hello: Path, wheelhouse: Path, tmp_path: Path, image_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    storage = tmp_path / "secured"
    storage.mkdir()
    with running(storage, Credentials("ci", "s3cret")) as registry:
        base_ref = push_base_image(registry, tmp_path / "base")
        built = _build_with_config(hello, base_ref, image_cache, tmp_path, monkeypatch,
                                   registry.host, "ci:s3cret")  # fmt: skip
        target = references.parse(f"{registry.host}/fn/hello:v1")
        with Registry(registry.host, Credentials("ci", "s3cret")) as client:
            push.push(built, target, client, Recorded())
        assert manifest_of(registry, str(target))[0] == built.digest

        with (
            Registry(registry.host, Credentials("ci", "wrong")) as client,
            pytest.raises(RegistryAuthError, match="refused the credentials of user 'ci'"),
        ):
            push.push(built, target, client, Recorded())
        with (
            Registry(registry.host, None) as client,
            pytest.raises(RegistryAuthError, match="wants credentials and none are kept"),
        ):
            client.manifest(target)


def _build_with_config(
    hello: Path, base_ref: str, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    host: str, pair: str,
) -> oci.Image:  # fmt: skip
    """Build with the base image's credentials found in a docker config, as docker would."""
    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(pair.encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    return _build(hello, base_ref, cache)


def test_an_unreachable_registry_is_named(hello: Path, image_cache: Path) -> None:
    with socket.socket() as closed:  # a port nothing listens on: bound, never listened
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        with pytest.raises(
            RegistryError, match=rf"cannot reach the registry http://127.0.0.1:{port}"
        ):
            _build(hello, f"127.0.0.1:{port}/base/python:1", image_cache)


def test_cli_writes_an_oci_archive_and_prints_the_digest(
    hello: Path, wheelhouse: Path, base_ref: str, image_cache: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("UNKAI_CACHE_DIR", str(image_cache.parent / "cli-cache"))
    archive = tmp_path / "hello.tar"
    result = CliRunner().invoke(
        cli, ["build", str(hello), "--base-image", base_ref, "--output", str(archive)]
    )
    assert result.exit_code == 0, result.output
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        index = json.loads(tar.extractfile("index.json").read())  # type: ignore[union-attr]
    digest = index["manifests"][0]["digest"]
    assert result.stdout.strip() == digest
    assert "oci-layout" in names
    assert f"blobs/sha256/{digest[7:]}" in names


def test_bearer_tokens_from_the_registry_token_server(tmp_path: Path) -> None:
    """Pushing and pulling with tokens the registry's token server grants; a wrong
    password is refused by the token server and said so."""
    storage = tmp_path / "token-registry"
    storage.mkdir()
    user = Credentials("ci", "s3cret")
    with (
        tokens.serving(tmp_path, user) as token_server,
        running(storage, user, token_auth=token_server.registry_auth()) as registry,
    ):
        base_ref = push_base_image(registry, tmp_path / "base")
        with Registry(registry.host, user) as client:
            media_type, _ = client.manifest(references.parse(base_ref))
        assert media_type == oci.MANIFEST
        with (
            Registry(registry.host, Credentials("ci", "wrong")) as client,
            pytest.raises(RegistryAuthError, match="refused the credentials of user 'ci'"),
        ):
            client.manifest(references.parse(base_ref))
