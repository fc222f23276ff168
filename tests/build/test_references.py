"""Image references read as docker reads them, and which registries may be plain HTTP."""

import pytest

from unkai.build.references import DOCKER_HUB, ImageReferenceError, is_loopback, parse


@pytest.mark.parametrize(
    ("text", "registry", "repository", "version"),
    [
        ("python:3.12-slim", DOCKER_HUB, "library/python", "3.12-slim"),
        ("python", DOCKER_HUB, "library/python", "latest"),
        ("docker.io/acme/fn:1", DOCKER_HUB, "acme/fn", "1"),
        ("localhost:5000/fn", "localhost:5000", "fn", "latest"),
        ("ghcr.io/acme/team/fn:v2", "ghcr.io", "acme/team/fn", "v2"),
        ("acme/fn@sha256:" + "a" * 64, DOCKER_HUB, "acme/fn", "sha256:" + "a" * 64),
    ],
)
def test_references_normalise_like_docker(
    text: str, registry: str, repository: str, version: str
) -> None:
    reference = parse(text)
    assert (reference.registry, reference.repository, reference.version) == (
        registry,
        repository,
        version,
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [("Acme/Fn", "repository 'Acme/Fn'"), ("fn@sha256:12", "digest"), ("fn:-bad", "tag")],
)
def test_bad_references_say_which_part(text: str, says: str) -> None:
    with pytest.raises(ImageReferenceError, match=says):
        parse(text)


@pytest.mark.parametrize(
    ("registry", "loopback"),
    [("localhost:5000", True), ("127.0.0.1:41234", True), ("[::1]:5000", True),
     ("registry.localhost", True), ("ghcr.io", False), ("10.0.0.1:5000", False)],
)  # fmt: skip
def test_only_loopback_registries_are_plain_http_by_default(registry: str, loopback: bool) -> None:
    assert is_loopback(registry) is loopback
