"""A Knative-func instance whose start and readiness wait for files the test writes.

STARTING: start() creates this file as it begins.   START_GATE: start() waits for it.
READY_GATE: ready() says no until it exists.        FAIL_START: start() raises.
READY_CALLS: ready() appends a line to it whenever it is asked.
"""

import asyncio
import os
import time
from pathlib import Path


def _begin(starting, gate):
    if starting:
        Path(starting).touch()
    while gate and not Path(gate).exists():
        time.sleep(0.01)


class Function:
    async def start(self, cfg):
        if cfg.get("FAIL_START"):
            raise RuntimeError("cannot start: FAIL_START is set")
        await asyncio.to_thread(_begin, cfg.get("STARTING"), cfg.get("START_GATE"))

    def ready(self):
        if os.environ.get("READY_CALLS"):
            with open(os.environ["READY_CALLS"], "a") as calls:
                calls.write("asked\n")
        gate = os.environ.get("READY_GATE")
        if gate and not Path(gate).exists():
            return False, "waiting for the gate"
        return True, "ready"

    async def handle(self, scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"open"})


def new():
    return Function()
