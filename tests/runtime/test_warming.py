"""Warming a prepared function in a fork-server: the request path runs, the function not.

A zygote calls ``warm()`` before it forks (``unkai.runtime.warming``). What a user
depends on: the function's own code is not called there (a handler that counts its
calls counts from 1 in every child), the zygote is left with no thread and no event
loop (forking stays safe) and nothing for a child's first collection to scan, and a
child forked afterwards serves as before.
"""

import json
import subprocess
import sys
import textwrap

from tests.support.servers import FUNCTIONS

ZYGOTE = textwrap.dedent(
    """
    import asyncio, gc, json, os, socket, sys, threading
    from pathlib import Path
    from unkai.runtime import prepare, warm

    prepared = prepare(Path(sys.argv[1]), host="127.0.0.1", port=0)
    status = warm(prepared)
    older_generations = gc.get_count()[1:]
    facts = {
        "status": status,
        "threads": threading.active_count(),
        "loop": asyncio._get_running_loop() is not None,
        "older_generations": older_generations,
    }
    gc.freeze()
    sock = socket.create_server(("127.0.0.1", 0))
    child = os.fork()
    if child == 0:
        os._exit(prepared.serve(sock))
    answers = []
    for n in (1, 2):
        body = json.dumps({"n": n}).encode()
        with socket.create_connection(sock.getsockname(), timeout=10) as client:
            client.sendall(
                b"POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\n"
                b"Connection: close\\r\\nContent-Length: %d\\r\\n\\r\\n%s" % (len(body), body)
            )
            reply = b""
            while chunk := client.recv(65536):
                reply += chunk
        answers.append(json.loads(reply.partition(b"\\r\\n\\r\\n")[2]))
    os.kill(child, 15)
    _, exit_status = os.waitpid(child, 0)
    facts.update(answers=answers, child_exit=os.waitstatus_to_exitcode(exit_status))
    print(json.dumps(facts))
    """
)


def test_a_warmed_zygote_runs_no_function_code_and_its_children_serve() -> None:
    result = subprocess.run(
        [sys.executable, "-c", ZYGOTE, str(FUNCTIONS / "sync_sqlite")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["status"] == 503  # the readiness probe: no function has started here
    assert facts["threads"] == 1
    assert facts["loop"] is False
    assert facts["older_generations"] == [0, 0]
    # the child's handler counts from its first call: warming did not call it
    assert facts["answers"] == [{"count": 1, "total": 1}, {"count": 2, "total": 3}]
    assert facts["child_exit"] == 0
