"""Start, readiness and graceful shutdown of a function process.

Aspects: the server listens while the function starts, with readiness 503 ("starting")
and liveness 200, then readiness 200; a function whose start fails makes the process
exit 1; on SIGTERM readiness is 503 at once, the request in flight completes, ``stop()``
runs and the process exits 0; an ASGI app's lifespan shutdown runs on SIGTERM.
"""

import threading
import time
from pathlib import Path

import httpx2
import pytest
from tests.support.servers import FUNCTIONS, Serve, json_lines, run_to_exit

pytestmark = pytest.mark.slow  # each test runs a function process and waits on its signals


def test_readiness_is_503_until_the_function_has_started(serve: Serve) -> None:
    server = serve("asgi_instance", env={"START_DELAY": "2"}, wait="listening")
    starting = httpx2.get(server.url + "/health/readiness")
    assert (starting.status_code, starting.text) == (503, "starting\n")
    assert httpx2.get(server.url + "/health/liveness").status_code == 200
    deadline = time.monotonic() + 15
    while httpx2.get(server.url + "/health/readiness").status_code != 200:
        assert time.monotonic() < deadline, "never became ready"
        time.sleep(0.05)
    assert httpx2.get(server.url + "/").json()["greeting"] == "hello from start"


def test_a_function_that_fails_to_start_exits_1() -> None:
    result = run_to_exit(FUNCTIONS / "asgi_instance", env={"FAIL_START": "1"})
    assert result.returncode == 1
    errors = [line for line in json_lines(result.stderr) if line["level"] == "error"]
    assert "failed to start" in errors[0]["message"]
    assert "RuntimeError: cannot start" in errors[0]["exception"]


def test_sigterm_finishes_the_request_in_flight_then_stops_and_exits_0(
    serve: Serve, tmp_path: Path
) -> None:
    marker = tmp_path / "stopped"
    server = serve("asgi_instance", env={"STOP_MARKER": str(marker)})
    in_flight: list[httpx2.Response] = []
    request = threading.Thread(
        target=lambda: in_flight.append(httpx2.get(server.url + "/slow", timeout=30))
    )
    request.start()
    deadline = time.monotonic() + 10
    while httpx2.get(server.url + "/status").json()["slow"] == 0:  # /slow takes 1.5 s
        assert time.monotonic() < deadline, "/slow never got under way"
        time.sleep(0.01)
    server.process.terminate()
    server.wait_for_log(lambda line: line["message"] == "shutting down")
    draining = httpx2.get(server.url + "/health/readiness")
    assert (draining.status_code, draining.text) == (503, "shutting down\n")
    assert not marker.exists()  # stop() waits for the request in flight
    request.join(30)
    assert in_flight[0].status_code == 200
    assert in_flight[0].json()["path"] == "/slow"
    assert server.process.wait(15) == 0
    assert marker.read_text() == "stopped"


def test_sigterm_runs_an_asgi_apps_lifespan_shutdown(serve: Serve, tmp_path: Path) -> None:
    marker = tmp_path / "stopped"
    server = serve("asgi_app", env={"STOP_MARKER": str(marker)})
    assert server.stop() == 0
    assert marker.read_text() == "lifespan shutdown"


def test_sigterm_exits_0_within_the_grace_period_while_a_sync_handler_still_runs(
    serve: Serve,
) -> None:
    server = serve("sync_grace")  # gracePeriod: 2; the handler sleeps 30 s
    in_flight: list[httpx2.Response] = []
    request = threading.Thread(
        target=lambda: in_flight.append(httpx2.get(server.url + "/", timeout=30))
    )
    request.start()
    server.wait_for_log(lambda line: line["message"] == "sleeping")
    signalled = time.monotonic()
    server.process.terminate()
    assert server.process.wait(15) == 0
    assert time.monotonic() - signalled < 2 + 1.5
    request.join(10)
    assert in_flight[0].status_code == 500
    # Logged before the process ended: the logs were flushed first.
    line = server.wait_for_log(lambda line: "still running" in line["message"], timeout=1)
    assert (line["level"], line["running"]) == ("warning", 1)
