"""A sync http handler: says where it runs; ``/sleep?seconds=`` blocks it that long."""

import logging
import threading
import time

_lock = threading.Lock()
_running = 0
_most = 0


def handle(request):
    global _running, _most
    if request.url.path != "/sleep":
        return {
            "main_thread": threading.current_thread() is threading.main_thread(),
            "data": request.data.decode(),
        }
    with _lock:
        _running += 1
        _most = max(_most, _running)
    logging.getLogger("sync-main").info("sleeping")
    time.sleep(float(request.query_params["seconds"]))
    with _lock:
        _running -= 1
        return {"most_at_once": _most}
