"""A sync handler: runs in the worker pool (2 threads), sees the body as request.data."""

import threading
import time

_lock = threading.Lock()
_running = 0
_most = 0


def handle(request):
    global _running, _most
    if request.url.path == "/data":
        return {"data": request.data.decode(), "thread": threading.current_thread().name}
    with _lock:
        _running += 1
        _most = max(_most, _running)
    time.sleep(0.4)
    with _lock:
        _running -= 1
        return {"most_at_once": _most}
