"""A function for data-plane tests: tells who answered and what it saw.

GET /                  -> {"target", "revision", "service", "port", "headers"}
GET /exclusive?ms=N    -> holds N ms; 500 if another request was inside at the same time
GET /crash             -> the process exits with code 3 (a crash)
GET /late?s=N          -> answers after N seconds (no byte before)
GET /stream?s=N        -> a first line at once, then a line a second for N seconds
"""

import asyncio
import os

from starlette.responses import StreamingResponse

inside = 0


async def handle(request):
    global inside
    if request.url.path == "/crash":
        os._exit(3)
    seconds = float(request.query_params.get("s", "0"))
    if request.url.path == "/late":
        await asyncio.sleep(seconds)
        return "late"
    if request.url.path == "/stream":
        return StreamingResponse(lines(seconds), media_type="text/plain")
    if request.url.path == "/exclusive":
        inside += 1
        try:
            if inside > 1:
                return ("two requests at once", 500)
            await asyncio.sleep(int(request.query_params.get("ms", "50")) / 1000)
            return "alone"
        finally:
            inside -= 1
    return {
        "target": os.environ.get("TARGET", ""),
        "revision": os.environ.get("K_REVISION", ""),
        "service": os.environ.get("K_SERVICE", ""),
        "port": os.environ.get("PORT", ""),
        "headers": dict(request.headers),
    }


async def lines(seconds):
    yield "started\n"
    for _ in range(int(seconds)):
        await asyncio.sleep(1)
        yield "still going\n"
