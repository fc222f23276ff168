"""Where sync handlers run: by default on the thread that imported them, one call at a
time; on ``runtime.syncWorkers`` threads when a function opts in.

Aspects: a SQLite connection made at import serves every request; a per-thread random
generator seeded at import gives the same numbers on every request, as in plain Python;
the handler runs on the main thread, one call at a time, with the body read as
``request.data``; readiness and liveness answer, and SIGTERM or SIGINT drains, while a
long sync call runs, and a second signal ends the process without waiting for it. With
``syncWorkers`` (2 for ``http_sync``) calls run on that many threads at once, and module
state bound to its thread breaks: the documented cost.
"""

import contextlib
import random
import shutil
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest
from tests.support.servers import FUNCTIONS, RunningFunction, Serve, serve

SLEEP = 0.4  # what http_sync's /slow sleeps for


@pytest.fixture(scope="module")
def pooled(serve_shared: Serve) -> RunningFunction:
    return serve_shared("http_sync")


@pytest.fixture(scope="module")
def main(serve_shared: Serve) -> RunningFunction:
    return serve_shared("sync_main")


def test_a_sqlite_connection_made_at_import_serves_every_request(serve: Serve) -> None:
    server = serve("sync_sqlite")
    answers = [httpx2.post(server.url, json={"n": n}).json() for n in (1, 2, 3)]
    assert answers == [
        {"count": 1, "total": 1},
        {"count": 2, "total": 3},
        {"count": 3, "total": 6},
    ]


def test_a_per_thread_generator_seeded_at_import_repeats_its_numbers(serve: Serve) -> None:
    server = serve("sync_rng")
    seeded = random.Random(7)
    expected = [seeded.random() for _ in range(3)]
    answers = [httpx2.post(server.url, json={"seed": 7}).json() for _ in range(4)]
    assert answers == [{"numbers": expected}] * 4


def test_a_sync_handler_runs_on_the_main_thread_with_the_body_read(
    main: RunningFunction,
) -> None:
    reply = httpx2.post(main.url + "/data", content=b"read for you").json()
    assert reply == {"main_thread": True, "data": "read for you"}


def test_sync_calls_run_one_at_a_time(main: RunningFunction) -> None:
    began = time.monotonic()
    with ThreadPoolExecutor(3) as pool:
        responses = list(
            pool.map(lambda _: httpx2.get(main.url + "/sleep?seconds=0.3", timeout=30), range(3))
        )
    assert [r.json() for r in responses] == [{"most_at_once": 1}] * 3
    assert time.monotonic() - began >= 3 * 0.3


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_probes_answer_and_a_signal_drains_while_a_long_sync_call_runs(
    serve: Serve, signum: signal.Signals
) -> None:
    server = serve("sync_main")
    in_flight: list[httpx2.Response] = []
    request = threading.Thread(
        target=lambda: in_flight.append(httpx2.get(server.url + "/sleep?seconds=3", timeout=30))
    )
    request.start()
    server.wait_for_log(lambda line: line["message"] == "sleeping")
    ready = httpx2.get(server.url + "/health/readiness", timeout=2)
    assert (ready.status_code, ready.text) == (200, "ready\n")
    assert httpx2.get(server.url + "/health/liveness", timeout=2).status_code == 200
    server.process.send_signal(signum)
    server.wait_for_log(lambda line: line["message"] == "shutting down")
    draining = httpx2.get(server.url + "/health/readiness", timeout=2)
    assert (draining.status_code, draining.text) == (503, "shutting down\n")
    request.join(30)
    assert in_flight[0].json() == {"most_at_once": 1}
    assert server.process.wait(15) == 0


def test_a_second_signal_exits_at_once_while_a_long_sync_call_runs(serve: Serve) -> None:
    server = serve("sync_main")  # gracePeriod: 30 s, and the call would take 60 s
    request = threading.Thread(target=_ask, args=(server.url + "/sleep?seconds=60",))
    request.start()
    server.wait_for_log(lambda line: line["message"] == "sleeping")
    server.process.terminate()
    server.wait_for_log(lambda line: line["message"] == "shutting down")
    server.process.terminate()
    assert server.process.wait(10) == 0
    line = server.wait_for_log(lambda line: "still running" in line["message"], timeout=1)
    assert line["running"] == 1
    request.join(10)


def _ask(url: str) -> None:
    """GET ``url``, whatever becomes of the server (it may be gone before it answers)."""
    with contextlib.suppress(httpx2.HTTPError):
        httpx2.get(url, timeout=70)


def test_sync_workers_run_that_many_calls_at_once(pooled: RunningFunction) -> None:
    began = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: httpx2.get(pooled.url + "/slow", timeout=30), range(4)))
    elapsed = time.monotonic() - began
    assert [r.status_code for r in responses] == [200] * 4
    assert max(r.json()["most_at_once"] for r in responses) <= 2
    assert elapsed >= 2 * SLEEP


def test_sync_workers_get_the_body_as_data_in_a_worker_thread(pooled: RunningFunction) -> None:
    reply = httpx2.post(pooled.url + "/data", content=b"read for you").json()
    assert reply["data"] == "read for you"
    assert reply["thread"].startswith("unkai-sync")


def test_with_sync_workers_a_connection_made_at_import_fails(tmp_path: Path) -> None:
    directory = shutil.copytree(FUNCTIONS / "sync_sqlite", tmp_path / "pooled_sqlite")
    (directory / "func.yaml").write_text("name: pooled-sqlite\nruntime: {syncWorkers: 2}\n")
    with serve(directory) as server:
        assert httpx2.post(server.url, json={"n": 1}).status_code == 500
        assert any("same thread" in line.get("exception", "") for line in server.logs())
