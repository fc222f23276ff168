"""A Knative-func style instance with every hook; the env vars steer it in tests.

START_DELAY: start() takes this many seconds.   FAIL_START: start() raises.
STOP_MARKER: stop() writes "stopped" to this file.
"""

import asyncio
import json
import os
from pathlib import Path


class Function:
    def __init__(self):
        self.greeting = None
        self.is_ready = True
        self.is_alive = True
        self.probes_raise = False
        self.slow_in_progress = 0

    async def start(self, cfg):
        if cfg.get("FAIL_START"):
            raise RuntimeError("cannot start")
        await asyncio.sleep(float(cfg.get("START_DELAY", "0")))
        self.greeting = cfg["GREETING"]

    def stop(self):
        marker = os.environ.get("STOP_MARKER")
        if marker:
            Path(marker).write_text("stopped")

    def ready(self):
        if self.probes_raise:
            raise RuntimeError("ready() is broken")
        return self.is_ready, "ready" if self.is_ready else "warming caches"

    async def alive(self):
        if self.probes_raise:
            raise RuntimeError("alive() is broken")
        return self.is_alive

    async def handle(self, scope, receive, send):
        path = scope["path"]
        if path == "/slow":
            self.slow_in_progress += 1
            await asyncio.sleep(1.5)
            self.slow_in_progress -= 1
        elif path == "/toggle-ready":
            self.is_ready = not self.is_ready
        elif path == "/toggle-alive":
            self.is_alive = not self.is_alive
        elif path == "/toggle-probes-raise":
            self.probes_raise = not self.probes_raise
        state = {"greeting": self.greeting, "path": path, "slow": self.slow_in_progress}
        body = json.dumps(state).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def new():
    return Function()
