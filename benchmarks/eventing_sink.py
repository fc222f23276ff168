"""A subscriber for benchmarks/eventing.py, in a process of its own as a real one is.

Run by the benchmark: ``python benchmarks/eventing_sink.py``. It listens on a free
loopback port and prints it; answers every POST with 202 and records the delivery
latency (now minus the event's ``ce-sent`` stamp, when it has one); ``GET /`` returns
the latencies recorded (seconds, JSON) and forgets them.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from typing import Any

import uvicorn

LATENCIES: list[float] = []


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    body = b""
    if scope["method"] == "GET":
        body = json.dumps(LATENCIES).encode()
        LATENCIES.clear()
    else:
        sent = dict(scope["headers"]).get(b"ce-sent")
        if sent:
            LATENCIES.append(time.time() - float(sent))
    await send({"type": "http.response.start", "status": 200 if body else 202, "headers": []})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    print(listening.getsockname()[1], flush=True)
    config = uvicorn.Config(app, log_level="error", lifespan="off", access_log=False)
    uvicorn.Server(config).run(sockets=[listening])


if __name__ == "__main__":
    sys.exit(main())
