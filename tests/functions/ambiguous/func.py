"""Both an http handle and an event handler: the runtime must refuse to guess."""


def handle(request):
    return "http"


def handler(event):
    return {"kind": "event"}
