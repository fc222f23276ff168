"""Knative func's non-instanced form: a module-level ASGI handle(scope, receive, send)."""


async def handle(scope, receive, send):
    headers = [(b"content-type", b"text/plain")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"raw asgi"})
