"""A plain Starlette app with a lifespan, served unchanged (no func.yaml: detected as asgi)."""

import asyncio
import contextlib
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route


@contextlib.asynccontextmanager
async def lifespan(app):
    yield {"greeting": "set by the app's lifespan"}
    marker = os.environ.get("STOP_MARKER")
    if marker:
        await asyncio.to_thread(Path(marker).write_text, "lifespan shutdown")


async def home(request: Request):
    return PlainTextResponse(request.state.greeting)


app = Starlette(routes=[Route("/", home)], lifespan=lifespan)
