"""``signature: grpc`` served by ``python -m unkai.runtime``, as in a built image: grpcio
binds ``--host``/``--port`` itself, the health service answers, SIGTERM ends it cleanly.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import grpc
import psutil
import pytest
from tests.support.servers import RUNTIME

from unkai.runtime.grpcserve import HEALTH, SERVING

GRPC_FUNCTION = Path(__file__).parents[1] / "conformance" / "functions" / "grpc"

pytestmark = pytest.mark.slow  # a function process


def listening_port(process: subprocess.Popen[bytes], deadline: float) -> int:
    """The port ``process`` listens on at 127.0.0.1, once it does (port 0 was asked)."""
    while time.monotonic() < deadline:
        assert process.poll() is None, "the runtime exited"
        for connection in psutil.Process(process.pid).net_connections("tcp"):
            loopback = connection.laddr.ip in ("127.0.0.1", "::ffff:127.0.0.1")  # grpcio: v6
            if connection.status == psutil.CONN_LISTEN and loopback:
                return int(connection.laddr.port)
        time.sleep(0.02)
    raise AssertionError("the runtime never listened")


def test_a_grpc_function_serves_its_methods_and_health_and_stops_on_sigterm() -> None:
    env = {**os.environ, "K_REVISION": "rev-1"}
    command = [*RUNTIME, str(GRPC_FUNCTION), "--host", "127.0.0.1", "--port", "0"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    try:
        port = listening_port(process, time.monotonic() + 20)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            assert channel.unary_unary("/echo.Echo/Say")(b"hi", timeout=10) == b"rev-1:hi"
            assert channel.unary_unary(f"/{HEALTH}/Check")(b"", timeout=10) == SERVING
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        assert process.stderr is not None
        process.stderr.close()
