"""``unkai run``'s process and port handling, driven as a user's terminal would.

Aspects: Ctrl-C to the terminal's process group, and SIGTERM to ``unkai run``, drain
the function once (a request in flight gets its reply, ``stop()`` runs, no
traceback); a function that dies is reported at once, reaped, marked as not running
for ``invoke``, and started again by the next change (without reload, ``run`` ends
with an error); an explicit ``--port`` is used, even right after a previous run,
or refused by name when taken, while without one a busy 8080 gives way to a free
port; a second ``run`` of the same directory refuses and leaves the first serving;
a missing directory is named as such.
"""

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import psutil
import pytest
from tests.cli.functions import URL, write_function
from tests.support.cli import background, unkai, user_env

SLOW = """
    import asyncio
    from pathlib import Path

    HOME = Path(__file__).resolve().parent.parent


    class Slow:
        async def handle(self, scope, receive, send):
            (HOME / "started").touch()
            await asyncio.sleep(1.5)
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"finished"})

        def stop(self):
            (HOME / "stopped").write_text("stop ran")


    def new():
        return Slow()
"""

FRAGILE = """
    import os


    def handle(request):
        if request.url.path == "/crash":
            os._exit(3)
        return "alive"
"""


def ctrl_c(process: subprocess.Popen[str]) -> None:
    os.killpg(process.pid, signal.SIGINT)


def sigterm(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)


@pytest.mark.parametrize("interrupt", [ctrl_c, sigterm])
def test_interrupt_drains_the_function_once(
    tmp_path: Path, interrupt: Callable[[subprocess.Popen[str]], None]
) -> None:
    directory = write_function(tmp_path, "slow", SLOW)
    env = user_env(tmp_path)
    with background("run", str(directory), "--port", "0", env=env, own_session=True) as (
        process,
        output,
    ):
        url = URL.search(output.wait_for("Serving slow at"))
        assert url is not None
        with ThreadPoolExecutor(1) as pool:
            reply = pool.submit(httpx2.get, url.group(0) + "/", timeout=20)
            while not (tmp_path / "started").exists():
                time.sleep(0.02)
            interrupt(process)
            assert reply.result().status_code == 200
            assert reply.result().text == "finished"
        assert process.wait(30) == 0
    assert (tmp_path / "stopped").read_text() == "stop ran"
    assert "Stopped." in output.lines
    assert not [line for line in output.lines if "Traceback" in line or "Cancelled" in line]


def test_a_dead_function_is_reported_reaped_and_restarted_by_a_change(tmp_path: Path) -> None:
    directory = write_function(tmp_path, "fragile", FRAGILE)
    env = user_env(tmp_path)
    with background("run", str(directory), "--port", "0", env=env) as (process, output):
        url = URL.search(output.wait_for("Serving fragile at"))
        assert url is not None
        [child] = psutil.Process(process.pid).children()
        child.kill()
        seen = output.wait_for("was killed by SIGKILL", timeout=5)
        assert "restarts on the next change" in seen
        assert psutil.Process(process.pid).children() == []  # reaped: no zombie
        called = unkai("invoke", str(directory), env=env)
        assert called.returncode == 1
        assert "fragile is not running: it was killed by SIGKILL" in called.stderr

        (directory / "func.py").touch()
        output.wait_for("Reloaded.")
        assert unkai("invoke", str(directory), env=env).stdout == "alive"

        with pytest.raises(httpx2.TransportError):
            httpx2.get(url.group(0) + "/crash")
        output.wait_for("the function exited with code 3", timeout=5)
        called = unkai("invoke", str(directory), env=env)
        assert "is not running: it exited with code 3" in called.stderr


def test_without_reload_a_dead_function_ends_run(tmp_path: Path) -> None:
    directory = write_function(tmp_path, "fragile", FRAGILE)
    env = user_env(tmp_path)
    with background("run", str(directory), "--port", "0", "--no-reload", env=env) as (
        process,
        output,
    ):
        url = URL.search(output.wait_for("Serving fragile at"))
        assert url is not None
        with pytest.raises(httpx2.TransportError):
            httpx2.get(url.group(0) + "/crash")
        assert process.wait(10) == 1
        output.wait_for("error: the function exited with code 3")


def listening(port: int) -> socket.socket:
    """A listener on loopback, bound as servers bind (lingering connections are no
    obstacle to it)."""
    return socket.create_server(("127.0.0.1", port))


def test_a_requested_port_is_used_or_refused_by_name(tmp_path: Path) -> None:
    directory = write_function(tmp_path, "hello", "def handle(request):\n    return 'hi'\n")
    env = user_env(tmp_path)
    with listening(0) as taken:
        port = taken.getsockname()[1]
        refused = unkai("run", str(directory), "--port", str(port), env=env)
    assert refused.returncode == 1
    assert f"cannot listen on 127.0.0.1 port {port}" in refused.stderr

    for _attempt in range(2):  # the second right after the first, its connection closed
        with (
            background("run", str(directory), "--port", str(port), env=env) as (process, output),
            httpx2.Client() as client,
        ):
            output.wait_for(f"Serving hello at http://127.0.0.1:{port} ")
            assert client.get(f"http://127.0.0.1:{port}/").text == "hi"
            process.send_signal(signal.SIGINT)
            assert process.wait(20) == 0


def test_interrupt_stops_run_even_when_it_was_started_with_sigint_ignored(
    tmp_path: Path,
) -> None:
    """A background job (``unkai run &``, nohup, CI) inherits SIGINT ignored; kill -INT
    must still stop it, draining as Ctrl-C does."""
    directory = write_function(tmp_path, "hello", "def handle(request):\n    return 'hi'\n")
    args = ("run", str(directory), "--port", "0")
    with background(*args, env=user_env(tmp_path), sigint_ignored=True) as (process, output):
        url = URL.search(output.wait_for("Serving hello at"))
        assert url is not None
        assert httpx2.get(url.group(0)).text == "hi"
        process.send_signal(signal.SIGINT)
        assert process.wait(20) == 0


def test_without_a_port_a_busy_8080_gives_way(tmp_path: Path) -> None:
    directory = write_function(tmp_path, "hello", "def handle(request):\n    return 'hi'\n")
    try:
        blocker: socket.socket | None = listening(8080)
    except OSError:  # something listens there already: just as good
        blocker = None
    try:
        with background("run", str(directory), env=user_env(tmp_path)) as (_, output):
            url = URL.search(output.wait_for("Serving hello at"))
            assert url is not None
            assert not url.group(0).endswith(":8080")
            assert httpx2.get(url.group(0)).text == "hi"
    finally:
        if blocker is not None:
            blocker.close()


def test_a_second_run_of_the_same_directory_refuses(tmp_path: Path) -> None:
    directory = write_function(tmp_path, "hello", "def handle(request):\n    return 'hi'\n")
    env = user_env(tmp_path)
    with background("run", str(directory), "--port", "0", env=env) as (process, output):
        url = URL.search(output.wait_for("Serving hello at"))
        assert url is not None
        second = unkai("run", str(directory), "--port", "0", env=env)
        assert second.returncode == 1
        assert f"already running at {url.group(0)}" in second.stderr
        assert f"pid {process.pid}" in second.stderr
        assert unkai("invoke", str(directory), env=env).stdout == "hi"
    assert "nothing serves" in unkai("invoke", str(directory), env=env).stderr
    with background("run", str(directory), "--port", "0", env=env) as (_, output):
        output.wait_for("Serving hello at")
        assert unkai("invoke", str(directory), env=env).stdout == "hi"


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    result = unkai("run", str(tmp_path / "nonexist"), env=user_env(tmp_path))
    assert result.returncode == 2
    assert "nonexist' does not exist" in result.stderr
