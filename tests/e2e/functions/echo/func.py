"""A function for data-plane tests: tells who answered and what it saw.

GET /                  -> {"target", "revision", "service", "port", "headers"}
GET /exclusive?ms=N    -> holds N ms; 500 if another request was inside at the same time
GET /crash             -> the process exits with code 3 (a crash)
"""

import asyncio
import os

inside = 0


async def handle(request):
    global inside
    if request.url.path == "/crash":
        os._exit(3)
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
