"""A sync http function for the runner tests: echo the environment, sleep, or crash.

``/sleep?seconds=N&started=PATH`` creates PATH once the request is in the function, so a
test knows it is in flight without guessing how long that takes.
"""

import os
import sys
import time
from pathlib import Path


def handle(request):
    if request.url.path == "/env":
        names = ("PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION", "GREETING", "FROM_YAML")
        return {
            **{name: os.environ.get(name) for name in names},
            "pid": os.getpid(),
            "ppid": os.getppid(),
        }
    if request.url.path == "/sleep":
        if "started" in request.query_params:
            Path(request.query_params["started"]).touch()
        time.sleep(float(request.query_params["seconds"]))
        return "slept"
    if request.url.path == "/crash":
        print("about to crash: the disk is on fire", flush=True)
        sys.stderr.flush()
        os._exit(3)
    return "hello"
