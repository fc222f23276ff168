"""{{name}}: an HTTP function.

Unkai calls ``handle`` for every request with a Starlette ``Request``. Return a dict or
list (sent as JSON), a str or bytes, ``None`` (204), a Starlette Response, or a tuple
``(body, status)`` / ``(body, status, headers)``.
"""

from starlette.requests import Request


async def handle(request: Request) -> dict[str, str]:
    name = request.query_params.get("name", "world")
    if request.method == "POST" and await request.body():
        payload = await request.json()
        name = str(payload.get("name", name))
    return {"message": f"Hello, {name}!"}
