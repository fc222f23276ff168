"""A tag resolved to the digest a real registry (Debian's docker-registry on loopback)
gives for it now: the same as the registry's own, a new one after a push to the tag,
nothing for the registries ``config-deployment`` skips and podman's local store, and
an error that says why for a tag the registry does not have."""

from pathlib import Path

import pytest
from tests.build.registries import LocalRegistry, push_version

from unkai.errors import UnkaiError
from unkai.platform.runners.images import resolve_digest


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
