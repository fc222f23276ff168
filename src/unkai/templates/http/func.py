"""{{name}}: an HTTP function.

Unkai calls ``handle`` for every request with a Starlette ``Request``. Return a dict or
list (sent as JSON), a str or bytes, ``None`` (204), a Starlette Response, or a tuple
``(body, status)`` / ``(body, status, headers)``.
"""

from starlette.requests import Request


async def handle(request: Request) -> dict[str, str] | tuple[dict[str, str], int]:
    name = request.query_params.get("name", "world")
    if request.method == "POST" and await request.body():
        try:
            payload = await request.json()
        except ValueError:  # not JSON
            payload = None
        if not isinstance(payload, dict):
            return {"error": 'send a JSON object, like {"name": "Ada"}'}, 400
        name = str(payload.get("name", name))
    return {"message": f"Hello, {name}!"}
