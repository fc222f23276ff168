"""A Kubernetes API stand-in for behaviours of a real cluster that ``unkai up`` never
shows (admission webhooks, RBAC, a Service that never gets Ready): kmock's HTTP server
on a loopback port, on an event loop of its own thread, so sync clients (lightkube) can
call it from the test. The test says how each request is answered."""

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import kmock
import lightkube
from lightkube.config.kubeconfig import KubeConfig

from unkai.kube import client


@contextmanager
def served() -> Iterator[tuple[kmock.RawHandler, lightkube.Client]]:
    """A mock API server (answer nothing until told) and a client for it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    handler = kmock.RawHandler()
    server = kmock.Server(handler)

    async def enter() -> str:
        await handler.__aenter__()
        await server.__aenter__()
        return str(server.url).rstrip("/")

    async def leave() -> None:
        await server.__aexit__(None, None, None)
        await handler.__aexit__(None, None, None)

    url = asyncio.run_coroutine_threadsafe(enter(), loop).result(30)
    config = KubeConfig.from_dict(kubeconfig(url))
    api = lightkube.Client(config=config, field_manager=client.FIELD_MANAGER)
    try:
        yield handler, api
    finally:
        api.close()
        asyncio.run_coroutine_threadsafe(leave(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def kubeconfig(url: str) -> dict[str, object]:
    """A kubeconfig whose only (and current) context, ``mock``, is the server at ``url``."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "mock", "cluster": {"server": url}}],
        "users": [{"name": "dev", "user": {"token": "dev-token"}}],
        "contexts": [
            {"name": "mock", "context": {"cluster": "mock", "user": "dev", "namespace": "default"}}
        ],
        "current-context": "mock",
    }


def refusal(code: int, reason: str, message: str) -> kmock.Response:
    """A Kubernetes ``Status`` as an API server refuses with it (``Content-Type`` exactly
    ``application/json``, as clients such as lightkube require to read it)."""
    document = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
                "reason": reason, "message": message, "metadata": {}}  # fmt: skip
    return kmock.Response(
        status=code, payload=json.dumps(document).encode(),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
