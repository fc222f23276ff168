"""Streams big bodies both ways: /download?mib=N sends N MiB, /upload counts what it gets."""

from starlette.responses import StreamingResponse

CHUNK = b"x" * 2**20


async def handle(request):
    if request.url.path == "/download":
        mib = int(request.query_params["mib"])

        async def chunks():
            for _ in range(mib):
                yield CHUNK

        return StreamingResponse(chunks(), media_type="application/octet-stream")
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
    return {"received": received}
