"""Loading a function directory, and the prepare/serve split a fork-server relies on.

Aspects: a directory without func.yaml is served with the defaults, named after the
directory; ``HOST``/``PORT`` give the address when no flags do; two candidate
functions, or none, stop the process with exit status 2 and a log line saying what to
write; ``prepare()`` imports the function and loads the server config without starting
a thread, and a child forked after it serves on a socket bound before the fork (sync
handlers on the forking thread, which imported them), then exits 0 on SIGTERM.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2
import pytest
from tests.support.servers import FUNCTIONS, Serve, json_lines, run_to_exit


def test_a_directory_without_func_yaml_is_named_after_itself(serve: Serve) -> None:
    server = serve("no_funcyaml")
    assert httpx2.get(server.url).text == "no-funcyaml"


def test_the_address_can_come_from_host_and_port(serve: Serve) -> None:
    server = serve("no_funcyaml", address_from="env")
    assert httpx2.get(server.url).status_code == 200


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("ambiguous", "ambiguous: func defines handle and handler"),
        ("not_found", "func defines none of new, app, application, handle, handler"),
    ],
)
def test_no_single_function_to_serve_exits_2_saying_why(case: str, says: str) -> None:
    result = run_to_exit(FUNCTIONS / case)
    assert result.returncode == 2
    [error] = [line for line in json_lines(result.stderr) if line["level"] == "error"]
    assert says in error["message"]


ZYGOTE = textwrap.dedent(
    """
    import os, socket, sys, threading
    from pathlib import Path
    from unkai.runtime import prepare

    prepared = prepare(Path(sys.argv[1]), host="127.0.0.1", port=0)
    assert threading.active_count() == 1, threading.enumerate()
    sock = socket.create_server(("127.0.0.1", 0))
    child = os.fork()
    if child == 0:
        os._exit(prepared.serve(sock))
    print(child, sock.getsockname()[1], flush=True)
    _, status = os.waitpid(child, 0)
    sys.exit(os.waitstatus_to_exitcode(status))
    """
)


@contextmanager
def forked(case: str) -> Iterator[str]:
    """A zygote-like parent that prepares ``case`` and forks a child serving it; its URL.

    The child is sent SIGTERM at the end, and the parent must then exit 0.
    """
    zygote = subprocess.Popen(
        [sys.executable, "-c", ZYGOTE, str(FUNCTIONS / case)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert zygote.stdout is not None
        child, port = map(int, zygote.stdout.readline().split())
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx2.get(url + "/health/readiness", timeout=2)
                break
            except httpx2.TransportError:
                assert time.monotonic() < deadline, "the child never answered"
                time.sleep(0.02)
        yield url
        os.kill(child, signal.SIGTERM)
        assert zygote.wait(15) == 0
    finally:
        if zygote.poll() is None:
            zygote.kill()
        zygote.communicate()


def test_prepare_starts_no_thread_and_a_forked_child_serves_on_a_bound_socket() -> None:
    with forked("http_shapes") as url:
        assert httpx2.get(url + "/text").text == "hello"


def test_a_forked_child_runs_sync_handlers_on_the_thread_that_imported_them() -> None:
    with forked("sync_sqlite") as url:
        answers = [httpx2.post(url, json={"n": n}).json() for n in (1, 2)]
    assert answers == [{"count": 1, "total": 1}, {"count": 2, "total": 3}]
