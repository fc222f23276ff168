"""A function that does what a hostile tenant would, for the sandbox tests.

* ``/read?path=P`` (repeatable): for each path, ``"read"`` or the error's name;
* ``/write?path=P``: the same for creating a file;
* ``/signal?pid=N``: signal 0 to ``N`` (whether it could be signalled);
* ``/whoami``: uid, gid, pid, the pids this function can see, no-new-privs;
* ``/env``: the environment it was given;
* ``/unshare``: ask for a new user namespace (``{"unshare": "done"}`` or the errno's
  name), and start a thread (``{"thread": "done"}``);
* ``/connect?host=H&port=P``: open a TCP connection: ``{"connect": "done"}`` or the
  error's name;
* ``/listen?port=P``: listen on ``0.0.0.0:P`` (kept open): ``{"listen": "done"}``;
* ``/hog?mb=N``: hold N MiB, touched, and answer how much it got;
* ``/forks?n=N``: start N sleeping children, answer how many it could;
* ``/detach?tag=T``: start ``sleep`` in a new session (outliving this request and any
  process group), with ``T`` on its command line so a test can find it.
"""

import ctypes
import errno
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

_held = []


def _attempt(action):
    try:
        action()
    except OSError as error:
        return type(error).__name__
    return "done"


def handle(request):
    query = request.query_params
    path = request.url.path
    if path == "/read":
        return {p: _attempt(lambda p=p: Path(p).read_bytes()) for p in query.getlist("path")}
    if path == "/write":
        return {p: _attempt(lambda p=p: Path(p).write_text("pwned")) for p in query.getlist("path")}
    if path == "/signal":
        return {"signal": _attempt(lambda: os.kill(int(query["pid"]), 0))}
    if path == "/whoami":
        status = Path("/proc/self/status").read_text()
        no_new_privs = next(
            line.split()[1] for line in status.splitlines() if line.startswith("NoNewPrivs")
        )
        pids = sorted(int(name) for name in os.listdir("/proc") if name.isdigit())
        return {
            "uid": os.getuid(),
            "gid": os.getgid(),
            "groups": os.getgroups(),
            "pid": os.getpid(),
            "pids": pids,
            "no_new_privs": no_new_privs,
        }
    if path == "/connect":
        address = (query["host"], int(query["port"]))
        return {"connect": _attempt(lambda: socket.create_connection(address, 5).close())}
    if path == "/listen":
        listener = socket.socket()
        listener.bind(("0.0.0.0", int(query["port"])))
        listener.listen()
        _held.append(listener)
        return {"listen": "done"}
    if path == "/unshare":
        libc = ctypes.CDLL(None, use_errno=True)
        failed = libc.unshare(0x10000000) != 0  # CLONE_NEWUSER
        thread = threading.Thread(target=lambda: None)
        thread.start()
        thread.join()
        return {
            "unshare": errno.errorcode[ctypes.get_errno()] if failed else "done",
            "thread": "done",
        }
    if path == "/env":
        return dict(os.environ)
    if path == "/hog":
        for _ in range(int(query["mb"])):
            _held.append(bytearray(1 << 20))  # zero-filled: every page touched
        return {"held_mb": len(_held)}
    if path == "/forks":
        started = 0
        for _ in range(int(query["n"])):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                time.sleep(120)
                os._exit(0)
            started += 1
        return {"started": started}
    if path == "/detach":
        child = subprocess.Popen(["sleep", f"{query['tag']}"], start_new_session=True)
        return {"pid": child.pid}
    return "spy"
