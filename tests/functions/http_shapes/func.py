"""Every return shape of the http signature, chosen by path; plus echo, env and errors.

The /bad-* paths return replies that cannot be sent as they are: the runtime must answer
500 (invalid status, header or JSON) or drop the body (204, 304).
"""

import os

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

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
    "/bodiless-204": lambda: ("x", 204),
    "/bodiless-304": lambda: ("x", 304, {"content-length": "1", "etag": '"v1"'}),
    "/bodiless-response": lambda: Response(b"x", status_code=204, headers={"content-length": "1"}),
    "/bad-status-999": lambda: ("x", 999),
    "/bad-status-99": lambda: ("x", 99),
    "/bad-status-101": lambda: ("x", 101),
    "/bad-status-abc": lambda: ("x", "abc"),
    "/bad-status-response": lambda: Response(b"x", status_code=999),
    "/bad-header-value": lambda: ("x", 200, {"x-injected": "a\r\nset-cookie: evil=1"}),
    "/bad-header-name": lambda: ("x", 200, {"bad name": "x"}),
    "/bad-header-response": lambda: Response(b"x", headers={"x-injected": "a\nb"}),
    "/bad-json": lambda: {"ratio": float("nan")},
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
