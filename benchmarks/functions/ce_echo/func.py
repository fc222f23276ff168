async def handle(event):
    return event
