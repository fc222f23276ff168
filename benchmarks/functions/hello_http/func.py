async def handle(request):
    return b"Hello, world!"
