"""A function for sink-binding tests: each call sends one event to its sink (K_SINK)."""

from unkai.runtime.sink import send_event


def handle(request):
    status = send_event("com.example.emitted", "/emitter", {"path": request.url.path})
    return f"sink answered {status}"
