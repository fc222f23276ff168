"""Reports its runtime view, as Knative's runtime test image does, and plays probe games.

GET /            -> {"env", "cwd", "pid", "http_version", "headers"}
GET /healthz     -> 200 while ready, 503 after /start-failing (a readiness target)
GET /livez       -> 200 while alive, 500 after /die (a liveness target)
GET /start-failing?for=S -> the same, for S seconds only
GET /start-passing -> /healthz answers 200 again
GET /crash       -> the process exits with code 3
GET /stdin       -> what one read of stdin gave ("" at end of file)
GET /file?path=P -> the content of file P (404 with the error when it cannot be read)
GET /write?path=P -> writes "ok" to P and answers "ok" (403 with the error when it cannot)
GET /stat?path=P -> {"mode": "crw-rw-rw-", "link": target or null} (404 when P is absent)
"""

import os
import stat
import time

state = {"ready": True, "alive": True, "until": None}


async def handle(request):
    path = request.url.path
    if path == "/healthz":
        if state["until"] is not None and time.monotonic() >= state["until"]:
            state["ready"], state["until"] = True, None
        return ("ready", 200) if state["ready"] else ("not ready", 503)
    if path == "/livez":
        return ("alive", 200) if state["alive"] else ("dead", 500)
    if path == "/start-failing":
        state["ready"] = False
        seconds = request.query_params.get("for")
        state["until"] = time.monotonic() + float(seconds) if seconds else None
        return "failing from now on"
    if path == "/start-passing":
        state["ready"] = True
        return "passing again"
    if path == "/crash":
        os._exit(3)
    if path == "/stdin":
        return {"read": os.read(0, 1).decode(errors="replace")}
    if path == "/file":
        return read(request.query_params["path"])
    if path == "/write":
        return write(request.query_params["path"])
    if path == "/stat":
        return describe(request.query_params["path"])
    if path == "/die":
        state["alive"] = False
        return "liveness fails from now on"
    return {
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "pid": os.getpid(),
        "http_version": request.scope.get("http_version"),
        "headers": dict(request.headers),
    }


def read(path):
    try:
        with open(path) as file:
            return file.read()
    except OSError as error:
        return (str(error), 404)


def write(path):
    try:
        with open(path, "w") as file:
            file.write("ok")
    except OSError as error:
        return (str(error), 403)
    return "ok"


def describe(path):
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        return (str(error), 404)
    link = os.readlink(path) if os.path.islink(path) else None
    return {"mode": stat.filemode(mode), "link": link}
