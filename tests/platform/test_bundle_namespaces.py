"""Bundles are stored per namespace (issue 13, item 5): a tenant token reaches only its
own namespace's bundles through the API, an identical bundle uploaded to two namespaces
is two copies, and a data dir from before keeps its bundles, each moved into the
namespaces whose Revisions run it."""

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from lightkube import Client, KubeConfig
from tests.controllers.readiness import InMemoryReadiness
from tests.support.embedded import started

from unkai.kube import kinds
from unkai.platform.apiserver import tokens
from unkai.platform.bundles import (
    BundleNotFoundError,
    BundleStore,
    NamespacedBundles,
    format_reference,
    pack,
)
from unkai.platform.bundles.endpoint import path, routes
from unkai.platform.embedded import Settings

from .conftest import RunningApi, StartApi


def function(root: Path, text: str) -> bytes:
    root.mkdir()
    (root / "func.py").write_text(f"def handle(request):\n    return {text!r}\n")
    return pack(root)


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def stores(tmp_path: Path) -> NamespacedBundles:
    return NamespacedBundles(tmp_path / "bundles")


@pytest.fixture
def api(start_api: StartApi, stores: NamespacedBundles) -> RunningApi:
    return start_api(extra_routes=routes(stores))


@pytest.fixture
def tenant(api: RunningApi) -> Iterator[httpx2.Client]:
    """A client with a token for namespace team-a."""
    token = tokens.create(api.data_dir / tokens.FILE, namespace="team-a", name="ci")
    with api.client(token=token) as client:
        yield client


def test_a_tenant_uploads_to_its_own_namespace_only(
    tmp_path: Path, api: RunningApi, tenant: httpx2.Client, stores: NamespacedBundles
) -> None:
    data = function(tmp_path / "mine", "a")
    digest = digest_of(data)

    assert tenant.head(path("team-a", digest)).status_code == 404
    assert tenant.put(path("team-a", digest), content=data).status_code == 201
    assert tenant.head(path("team-a", digest)).status_code == 200

    with api.client() as admin:  # the same bundle is not there for another namespace
        assert admin.head(path("team-b", digest)).status_code == 404
    assert not stores.of("team-b").has(digest)
    assert (stores.of("team-a").path(digest) / "func.py").is_file()


@pytest.mark.parametrize(("method", "verb"), [("HEAD", "get"), ("PUT", "update")])
def test_a_tenant_cannot_read_or_overwrite_another_namespaces_bundle(
    tmp_path: Path, api: RunningApi, tenant: httpx2.Client, method: str, verb: str
) -> None:
    theirs = function(tmp_path / "theirs", "b")
    digest = digest_of(theirs)
    with api.client() as admin:
        assert admin.put(path("team-b", digest), content=theirs).status_code == 201

    response = tenant.request(method, path("team-b", digest), content=theirs)

    assert response.status_code == 403
    if method == "PUT":  # a HEAD answer has no body
        assert response.json()["message"] == (
            'bundles.unkai is forbidden: User "system:serviceaccount:team-a:ci" cannot '
            f'{verb} resource "bundles" in API group "unkai" in the namespace "team-b"'
        )


def test_a_bad_namespace_in_the_path_is_refused(api: RunningApi) -> None:
    with api.client() as admin:
        response = admin.head(path("Team_B", "sha256:" + "ab" * 32))
    assert response.status_code == 400


def test_a_shared_store_of_an_older_data_dir_moves_to_the_namespaces_that_run_it(
    tmp_path: Path, stores: NamespacedBundles
) -> None:
    shared = BundleStore(stores.root)  # the layout before bundles were per namespace
    run = shared.put(function(tmp_path / "run", "run"))
    unused = shared.put(function(tmp_path / "unused", "unused"))
    assert stores.has_shared()

    stores.adopt_shared({run: ["team-a", "team-b"]})

    assert not stores.has_shared()
    assert not (stores.root / "blobs").exists()
    assert not (stores.root / "trees").exists()
    assert stores.namespaces() == ["team-a", "team-b"]
    for namespace in ("team-a", "team-b"):
        assert (stores.of(namespace).path(run) / "func.py").read_text().endswith("'run'\n")
        assert not stores.of(namespace).has(unused)
    with pytest.raises(BundleNotFoundError):
        stores.of("default").path(run)


@pytest.mark.slow
def test_a_platform_started_on_an_older_data_dir_moves_its_bundles_to_their_namespaces(
    tmp_path: Path,
) -> None:
    data = function(tmp_path / "hello", "hello")
    digest = digest_of(data)
    settings = Settings(data_dir=tmp_path / "data", api_port=0, gateway_port=0)
    with started(settings, readiness=InMemoryReadiness()) as (platform, _):
        client = Client(KubeConfig.from_dict(platform.api.kubeconfig()), field_manager="t")
        image = format_reference(namespace="default", name="hello", digest=digest)
        service = {
            "apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": "hello", "namespace": "default"},
            "spec": {"template": {"spec": {"containers": [{"image": image}]}}},
        }  # fmt: skip
        client.apply(kinds.resource(kinds.SERVICE).from_dict(service), force=True)
        deadline = time.monotonic() + 30
        while not list(client.list(kinds.resource(kinds.REVISION), namespace="default")):
            assert time.monotonic() < deadline, "no revision was made"
            time.sleep(0.05)
        client.close()
        root = platform.bundles.root
    BundleStore(root).put(data)  # where a platform before per-namespace bundles kept it
    BundleStore(root).put(function(tmp_path / "orphan", "orphan"))

    with started(settings, readiness=InMemoryReadiness()) as (platform, _):
        assert platform.bundles.of("default").has(digest)
        assert platform.bundles.namespaces() == ["default"]  # the orphan went
        assert not platform.bundles.has_shared()
