"""A tag resolved to the digest a real registry (Debian's docker-registry on loopback)
gives for it now: the same as the registry's own, a new one after a push to the tag,
nothing for the registries ``config-deployment`` skips and podman's local store, and
an error that says why for a tag the registry does not have."""

import base64
import json
from pathlib import Path

import pytest
from tests.build.registries import LocalRegistry, push_version, running

from unkai.build.credentials import Credentials
from unkai.errors import UnkaiError
from unkai.platform.runners.images import resolve_digest

pytestmark = pytest.mark.slow


def test_a_tag_resolves_to_what_the_registry_has_now(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    image = f"{registry.host}/app:1"
    first = push_version(registry, tmp_path / "one", "1")
    assert resolve_digest(image, set(), timeout=10) == f"{registry.host}/app@{first}"
    second = push_version(registry, tmp_path / "two", "2")
    assert second != first
    assert resolve_digest(image, set(), timeout=10) == f"{registry.host}/app@{second}"
    pinned = f"{registry.host}/app@{first}"
    assert resolve_digest(pinned, set(), timeout=10) == pinned  # pinned already


def test_skipped_registries_and_podmans_store_stay_tags(registry: LocalRegistry) -> None:
    assert resolve_digest(f"{registry.host}/app:1", {registry.host}, timeout=10) == ""
    assert resolve_digest("localhost/unkai-test/view:1", set(), timeout=10) == ""


def test_a_tag_the_registry_does_not_have_says_so(registry: LocalRegistry) -> None:
    with pytest.raises(UnkaiError) as raised:
        resolve_digest(f"{registry.host}/nowhere:9", set(), timeout=10)
    assert str(raised.value) == f"image {registry.host}/nowhere:9 not found in {registry.host}"


def test_a_private_registry_is_asked_with_the_users_docker_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As ``unkai build`` pushes: the credentials kept in the docker config."""
    storage = tmp_path / "private"
    storage.mkdir()
    with running(storage, Credentials("alice", "s3cret")) as private:
        digest = push_version(private, tmp_path / "one", "1")
        image = f"{private.host}/app:1"
        monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "nowhere"))
        with pytest.raises(UnkaiError, match="wants credentials and none are kept"):
            resolve_digest(image, set(), timeout=10)
        config = tmp_path / "docker"
        config.mkdir()
        auth = base64.b64encode(b"alice:s3cret").decode()
        (config / "config.json").write_text(json.dumps({"auths": {private.host: {"auth": auth}}}))
        monkeypatch.setenv("DOCKER_CONFIG", str(config))
        assert resolve_digest(image, set(), timeout=10) == f"{private.host}/app@{digest}"
