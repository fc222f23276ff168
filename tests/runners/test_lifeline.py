"""Instances die with the platform that started them, even when it is killed outright.

A platform stopped normally drains its instances; one killed with SIGKILL cannot. In
fork mode the zygote sees its control channel close and stops its children; in spawn
mode (and for ``unkai run``) the kernel's parent-death signal makes the runtime drain
and exit. Either way nothing is left serving on the instance's port.
"""

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

PARENT = Path(__file__).parent / "parent.py"


def serving(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("mode", ["fork", "spawn"])
def test_an_instance_stops_serving_when_its_platform_is_killed(mode: str, tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, str(PARENT), mode, str(tmp_path)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
    ) as parent:  # fmt: skip
        try:
            assert parent.stdout is not None
            port = int(parent.stdout.readline())
            assert serving(port)
        finally:
            parent.send_signal(signal.SIGKILL)
            parent.wait(10)
    deadline = time.monotonic() + 15
    while serving(port):
        assert time.monotonic() < deadline, f"the {mode} instance still serves on {port}"
        time.sleep(0.1)
