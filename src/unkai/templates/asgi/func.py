"""{{name}}: a raw ASGI function, compatible with Knative Functions' Python template.

``new()`` builds the function once per instance. ``start`` runs before the first
request (with a copy of the environment), ``stop`` on shutdown; ``alive`` and ``ready``
answer ``/health/liveness`` and ``/health/readiness``.
"""

import json
from typing import Any


class Function:
    def __init__(self) -> None:
        self.greeting = "Hello"

    def start(self, cfg: dict[str, str]) -> None:
        self.greeting = cfg.get("GREETING", self.greeting)

    def stop(self) -> None:
        pass

    def alive(self) -> bool:
        return True

    def ready(self) -> bool:
        return True

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = json.dumps({"message": f"{self.greeting} from {scope['path']}"}).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def new() -> Function:
    return Function()
