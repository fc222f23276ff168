"""Namespaces as a boundary: a tenant token acts only inside its namespace.

The admin token (made at start) may do anything; a token made for namespace
``team-a`` may use every resource there, every verb (watch included), and read
discovery, but is refused (403, in Kubernetes' words) anything in another namespace,
any list across namespaces, cluster-scoped objects and ``/metrics``. Tokens are
recorded as digests and take effect, or stop, without a restart.
"""

import json

import httpx2
import pytest

from unkai.platform.apiserver import tokens

from .conftest import RunningApi
from .test_apiserver_http import ksvc

SERVICES = "/apis/serving.knative.dev/v1/namespaces/{ns}/services"
CONFIGMAPS = "/api/v1/namespaces/{ns}/configmaps"


@pytest.fixture
def tenant(api: RunningApi, http: httpx2.Client) -> str:
    for namespace in ("team-a", "team-b"):
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        assert http.post("/api/v1/namespaces", json=body).status_code == 201
    return tokens.create(api.data_dir / tokens.FILE, namespace="team-a", name="ci")


def test_a_tenant_works_in_its_own_namespace(api: RunningApi, tenant: str) -> None:
    with api.client(token=tenant) as client:
        created = client.post(SERVICES.format(ns="team-a"), json=ksvc("hello"))
        assert created.status_code == 201, created.text
        listed = client.get(SERVICES.format(ns="team-a"))
        assert [item["metadata"]["name"] for item in listed.json()["items"]] == ["hello"]
        watched = client.get(
            SERVICES.format(ns="team-a"), params={"watch": "1", "timeoutSeconds": "1"}
        )
        assert watched.status_code == 200
        assert json.loads(watched.text.splitlines()[0])["object"]["metadata"]["name"] == "hello"
        assert client.get("/api/v1/namespaces/team-a").status_code == 200
        assert client.get("/apis").status_code == 200
        assert client.get("/apis/serving.knative.dev/v1").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("GET", SERVICES.format(ns="team-b"),
         'cannot list resource "services" in API group "serving.knative.dev" in the namespace '
         '"team-b"'),
        ("GET", SERVICES.format(ns="team-b") + "/hello",
         'cannot get resource "services" in API group "serving.knative.dev" in the namespace '
         '"team-b"'),
        ("POST", CONFIGMAPS.format(ns="default"),
         'cannot create resource "configmaps" in API group "" in the namespace "default"'),
        ("GET", "/apis/serving.knative.dev/v1/services",
         'cannot list resource "services" in API group "serving.knative.dev" at the cluster scope'),
        ("GET", "/api/v1/namespaces",
         'cannot list resource "namespaces" in API group "" at the cluster scope'),
        ("GET", "/api/v1/namespaces/team-b",
         'cannot get resource "namespaces" in API group "" at the cluster scope'),
        ("DELETE", "/api/v1/namespaces/team-a",
         'cannot delete resource "namespaces" in API group "" at the cluster scope'),
        ("GET", "/metrics", 'forbidden: User "system:serviceaccount:team-a:ci" cannot get path '
         '"/metrics"'),
    ],
)  # fmt: skip
def test_a_tenant_is_refused_everything_outside_its_namespace(
    api: RunningApi, tenant: str, method: str, path: str, message: str
) -> None:
    with api.client(token=tenant) as client:
        response = client.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == 403
    status = response.json()
    assert (status["kind"], status["reason"]) == ("Status", "Forbidden")
    assert 'User "system:serviceaccount:team-a:ci"' in status["message"]
    assert message in status["message"]


def test_a_watch_in_another_namespace_is_refused(api: RunningApi, tenant: str) -> None:
    with api.client(token=tenant) as client:
        response = client.get(SERVICES.format(ns="team-b"), params={"watch": "true"})
    assert response.status_code == 403
    assert 'cannot watch resource "services"' in response.json()["message"]


def test_tokens_are_kept_as_digests_and_work_until_revoked(api: RunningApi, tenant: str) -> None:
    assert tenant not in (api.data_dir / tokens.FILE).read_text()
    with api.client(token=tenant) as client:
        assert client.get(SERVICES.format(ns="team-a")).status_code == 200
        assert tokens.revoke(api.data_dir / tokens.FILE, namespace="team-a", name="ci")
        assert client.get(SERVICES.format(ns="team-a")).status_code == 401


def test_the_admin_token_still_reaches_every_namespace(http: httpx2.Client, tenant: str) -> None:
    assert http.get("/apis/serving.knative.dev/v1/services").status_code == 200
    assert http.get(SERVICES.format(ns="team-b")).status_code == 200
