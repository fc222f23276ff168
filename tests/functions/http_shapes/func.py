"""Every return shape of the http signature, chosen by path; plus echo, env and errors."""

import os

from starlette.requests import Request
from starlette.responses import JSONResponse

SHAPES = {
    "/text": lambda: "hello",
    "/bytes": lambda: b"\x00\x01binary",
    "/dict": lambda: {"answer": 42},
    "/list": lambda: [1, 2, 3],
    "/none": lambda: None,
    "/status": lambda: ("made", 201),
    "/headers": lambda: ("short and stout", 418, {"X-Kind": "teapot"}),
    "/json-headers": lambda: ({"ok": True}, 200, [("content-type", "application/vnd.demo+json")]),
    "/response": lambda: JSONResponse({"via": "starlette"}, status_code=202),
    "/unsupported": lambda: 42,
}


async def handle(request: Request):
    path = request.url.path
    if path in SHAPES:
        return SHAPES[path]()
    if path == "/echo":
        return {
            "method": request.method,
            "query": dict(request.query_params),
            "header": request.headers.get("x-demo"),
            "body": (await request.body()).decode(),
        }
    if path == "/env":
        names = ["K_SERVICE", "K_REVISION", "K_CONFIGURATION", "GREETING"]
        return {name: os.environ.get(name) for name in names}
    if path == "/boom":
        raise ValueError("secret detail that must not reach the client")
    return ("no such shape", 404)
