import asyncio


async def handle(request):
    await asyncio.sleep(0.05)  # 50 ms of work that waits (I/O), not CPU: 2 cores only
    return "done"
