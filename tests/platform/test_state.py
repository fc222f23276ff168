"""Whether a platform runs on a data dir: decided by a lock its process holds, so a
record left by a killed platform never says "already running", and two platforms
cannot share one data dir."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from unkai.platform.state import DataDirInUseError, PlatformDir, Running


def test_a_record_left_by_a_killed_platform_does_not_count(tmp_path: Path) -> None:
    files = PlatformDir.under(tmp_path)
    held = files.hold()
    files.record_running(Running(pid=1, api_url="https://127.0.0.1:1", gateway_url=""))
    assert files.running() is not None  # pid 1 lives, and the lock is held
    files.release(held)  # what the kernel does when the holder dies, even by kill -9
    assert files.running() is None
    files.release(files.hold())  # and a new platform may start


def test_a_zombie_is_not_a_running_platform() -> None:
    with subprocess.Popen([sys.executable, "-c", "pass"]) as child:
        deadline = time.monotonic() + 10
        while not _zombie(child.pid):  # exited, and not waited for: a zombie
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert not Running(child.pid, "", "").alive()


def test_a_second_platform_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    first = PlatformDir.under(tmp_path)
    held = first.hold()
    first.record_running(Running(pid=1, api_url="https://127.0.0.1:9", gateway_url=""))
    with pytest.raises(DataDirInUseError, match=r"already running \(pid 1\) at https://127"):
        PlatformDir.under(tmp_path).hold()
    first.release(held)


def _zombie(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
