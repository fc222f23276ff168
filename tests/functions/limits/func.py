"""Reads the whole body and says how long it was (limit: 1 KiB)."""


async def handle(request):
    return {"length": len(await request.body())}
