"""A WebSocket upgrade passes the API's token check like any request (issue 13, item 6).

kubectl opens WebSockets to the API server (exec, attach, port-forward; watches may come
that way too), and the platform's extensions may serve them. An upgrade without a token,
with an unknown one, or with a tenant's token outside its namespace is refused before
the handshake with the ``Status`` Kubernetes answers (401 Unauthorized, 403 Forbidden);
with a good token it reaches the handler, which knows who called.
"""

import base64
import os
from collections.abc import Iterator

import httpx2
import pytest
from httpx2.websockets import WebSocketUpgradeError
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from unkai.platform.apiserver import tokens

from .conftest import TOKEN, RunningApi, run_api

WATCH_TEAM_B = "/apis/serving.knative.dev/v1/namespaces/team-b/services?watch=1"
WHOAMI = "/apis/unkai.dev/v1/namespaces/team-{team}/whoami"


async def whoami(websocket: WebSocket) -> None:
    """An extension served over WebSocket: it tells the caller who it is."""
    await websocket.accept()
    await websocket.send_text(websocket.scope["unkai.identity"].user)
    await websocket.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    """One server for the module, with the extension."""
    route = WebSocketRoute(WHOAMI.format(team="{team}"), whoami)
    with run_api(tmp_path_factory.mktemp("websocket") / "data", extra_routes=[route]) as api:
        yield api


@pytest.fixture(scope="module")
def tenant(server: RunningApi) -> str:
    return tokens.create(server.data_dir / tokens.FILE, namespace="team-a", name="ci")


def refused(server: RunningApi, path: str, token: str | None) -> httpx2.Response:
    """The answer to an upgrade that must not succeed. A WebSocket client drops the body
    of a refusal, so this one asks for the upgrade as RFC 6455 spells it and reads it."""
    with (
        server.client(token=token) as client,
        pytest.raises(WebSocketUpgradeError),
        client.websocket(path),
    ):
        pass
    upgrade = {
        "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
    }  # fmt: skip
    with server.client(token=token) as client:
        return client.get(path, headers=upgrade)


@pytest.mark.parametrize("path", [WATCH_TEAM_B, WHOAMI.format(team="a")])
@pytest.mark.parametrize("token", [None, "not-the-token"])
def test_an_upgrade_without_a_known_token_is_unauthorized(
    server: RunningApi, path: str, token: str | None
) -> None:
    response = refused(server, path, token)
    assert response.status_code == 401
    status = response.json()
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Unauthorized", 401)


@pytest.mark.parametrize("path", [WATCH_TEAM_B, WHOAMI.format(team="b")])
def test_an_upgrade_outside_the_tokens_namespace_is_forbidden(
    server: RunningApi, tenant: str, path: str
) -> None:
    response = refused(server, path, tenant)
    assert response.status_code == 403
    status = response.json()
    assert (status["kind"], status["reason"]) == ("Status", "Forbidden")
    assert 'User "system:serviceaccount:team-a:ci"' in status["message"]
    assert 'in the namespace "team-b"' in status["message"]


@pytest.mark.parametrize(
    ("who", "user"), [("tenant", "system:serviceaccount:team-a:ci"), ("admin", "unkai:admin")]
)
def test_an_upgrade_with_a_good_token_reaches_its_handler(
    server: RunningApi, tenant: str, who: str, user: str
) -> None:
    with (
        server.client(token=tenant if who == "tenant" else TOKEN) as client,
        client.websocket(WHOAMI.format(team="a")) as websocket,
    ):
        assert websocket.receive_text() == user
