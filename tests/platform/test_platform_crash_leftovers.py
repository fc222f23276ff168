"""What a platform killed with ``kill -9`` leaves is cleaned at its next start (issue 13,
item 4): the directory of its instances' Unix sockets (in the temporary dir, where
nothing else would ever remove it) and its record of a running platform; the new one
serves, its instances in a socket dir of their own.

A real platform is killed here, a process as a user runs it, after one of its
functions served: what is left is what a crash leaves, not a layout copied by hand. The
next start is in-process (cheaper), on the same data dir.
(Partial bundle unpacks, the other leftover, are cleaned by the bundle store at start:
tests/bundles/test_bundles.py.)
"""

import os
import signal
import time
from pathlib import Path

import httpx2
import psutil
import pytest
from tests.support.cli import unkai, user_env
from tests.support.embedded import embedded
from tests.support.processes import revision_processes

from unkai.platform import state
from unkai.platform.embedded import Settings

HOST = "hello.default.localhost"


def call(gateway: str) -> None:
    """Call the function through the gateway, as ``curl -H 'Host: ...'`` would."""
    response = httpx2.get(gateway, params={"name": "Ada"}, headers={"Host": HOST}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Hello, Ada!"}


def socket_dirs(revision: str, data: Path) -> set[Path]:
    """Where the instances of ``revision`` listen, as an operator finds it: the Unix
    sockets their processes hold."""
    found = set()
    for process in revision_processes(revision, data_dir=str(data)):
        try:
            connections = process.net_connections(kind="unix")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        found |= {Path(c.laddr).parent for c in connections if c.laddr}
    return found


def test_clearing_leftovers_removes_the_socket_dir_of_the_last_platform(tmp_path: Path) -> None:
    files = state.PlatformDir.under(tmp_path / "data")
    files.release(files.hold())  # a platform that made a socket dir, then died
    first = files.socket_dir()
    (first / "1.sock").touch()

    held = files.hold()  # the next one
    files.clear_leftovers()
    assert not first.exists()
    files.clear_leftovers()  # nothing left: nothing to do
    second = files.socket_dir()
    files.release(held)
    files.clear_leftovers()
    assert not second.exists()


@pytest.mark.slow
def test_a_restart_after_kill_9_removes_the_dead_platforms_leftovers(tmp_path: Path) -> None:
    env = user_env(tmp_path)
    data = tmp_path / "data"
    files = state.PlatformDir.under(data)
    assert unkai("init", "hello", env=env, cwd=tmp_path).returncode == 0
    started = unkai("up", "--detach", "--api-port", "0", "--port", "0", env=env)
    assert started.returncode == 0, started.stdout + started.stderr
    killed = files.running()
    assert killed is not None
    try:
        deployed = unkai("deploy", str(tmp_path / "hello"), env=env)
        assert deployed.returncode == 0, deployed.stderr
        call(killed.gateway_url)
        (sockets,) = socket_dirs("hello-00001", data)
    finally:
        os.kill(killed.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while revision_processes("hello-00001", data_dir=str(data)):
        assert time.monotonic() < deadline, "the killed platform's instances live on"
        time.sleep(0.05)
    assert sockets.is_dir()  # what the crash left
    assert files.running() is None  # its record is left too, and does not count

    settings = Settings(data_dir=data, api_port=0, gateway_port=0)
    with embedded(settings) as platform:
        assert not sockets.exists()
        running = files.running()  # the record now names the new platform
        assert running is not None
        assert running.pid == os.getpid()
        call(f"http://127.0.0.1:{platform.gateway.port}")
        (new_sockets,) = socket_dirs("hello-00001", data)
        assert new_sockets != sockets
    assert not new_sockets.exists()  # a clean stop removes its own
