"""Running the ``unkai`` command the way a user does: as a process, with a clean home."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

UNKAI = [sys.executable, "-m", "unkai.cli"]


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user whose data and caches live under ``home``."""
    env = {**os.environ, "UNKAI_DATA_DIR": str(home / "data")}
    env["UNKAI_CACHE_DIR"] = str(home / "cache")
    env.update(extra)
    return env


def unkai(
    *args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*UNKAI, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class LineReader:
    """Collects a process's output lines in a thread so tests can wait for one."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._process = process
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.lines.append(line.rstrip("\n"))

    def close(self) -> None:
        """After the process ended: read what is left, then close the pipe."""
        self._thread.join(10)
        assert self._process.stdout is not None
        self._process.stdout.close()

    def wait_for(self, text: str, *, timeout: float = 60, after: int = 0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[after:]:
                if text in line:
                    return line
            if self._process.poll() is not None and not self._thread.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not seen; output was:\n" + "\n".join(self.lines))


@contextmanager
def background(
    *args: str, env: dict[str, str], own_session: bool = False, sigint_ignored: bool = False
) -> Iterator[tuple[subprocess.Popen[str], LineReader]]:
    """Run ``unkai ARGS`` in the background; it is interrupted (Ctrl-C) at the end.

    ``own_session``: started as a shell starts a foreground job, the leader of its own
    process group; what is left of the group at the end is killed. ``sigint_ignored``:
    started as a shell without job control starts ``cmd &``, with SIGINT ignored.
    """
    shell = ["sh", "-c", 'trap "" INT; exec "$@"', "sh"] if sigint_ignored else []
    process = subprocess.Popen(
        [*shell, *UNKAI, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=own_session,
    )
    reader = LineReader(process)
    try:
        yield process, reader
    finally:
        if process.poll() is None and own_session:
            os.killpg(process.pid, signal.SIGKILL)
        elif process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        process.wait()
        reader.close()


def function_tests(
    *directories: Path, cwd: Path, env: dict[str, str] | None = None, options: tuple[str, ...] = ()
) -> str:
    """Run pytest over function directories as a user would; their output once all passed.

    ``-p no:kmock``: this environment has kmock, a development dependency of Unkai's own
    tests whose plugin needs pytest-asyncio; a user's environment has neither."""
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:kmock",
         *options, *map(str, directories)],
        cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert " passed" in tests.stdout
    assert "failed" not in tests.stdout
    return tests.stdout


SERVICE = """\
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
spec:
  template:
    spec:
      containers:
        - image: example.com/hello:{version}
"""
"""A Knative Service manifest as a user writes it; ``{version}`` names the image tag."""
