def handle(event):
    return event
