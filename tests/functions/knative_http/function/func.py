"""The shape of Knative func's Python http template: new() returns an instance whose
async handle(scope, receive, send) is plain ASGI, with the optional hooks.

GET /      -> "OK" (text/plain), as the template answers
GET /state -> what start(cfg) saw, as JSON, read back through the SQLite connection
              start() opened (usable only on the thread that made it)
POST /unready -> ready() says no from now on
"""

import json
import logging
import os
import sqlite3
from pathlib import Path


def new():
    return Function()


class Function:
    def __init__(self):
        self.db = None
        self.is_ready = True

    async def handle(self, scope, receive, send):
        logging.info("OK: Request Received")
        if scope["path"] == "/state":
            (greeting,) = self.db.execute("select greeting from state").fetchone()
            body = json.dumps({"greeting": greeting}).encode()
            content_type = b"application/json"
        else:
            if scope["path"] == "/unready":
                self.is_ready = False
            body, content_type = b"OK", b"text/plain"
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [[b"content-type", content_type]],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def start(self, cfg):
        self.db = sqlite3.connect(":memory:")
        self.db.execute("create table state (greeting text)")
        self.db.execute("insert into state values (?)", (cfg.get("GREETING"),))

    def stop(self):
        marker = os.environ.get("STOP_MARKER")
        if marker:
            Path(marker).write_text("stopped")

    def alive(self):
        return True, "Alive"

    def ready(self):
        return self.is_ready, "Ready" if self.is_ready else "Not ready"
