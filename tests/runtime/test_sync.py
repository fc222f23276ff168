"""Sync handlers run in a pool of ``runtime.syncWorkers`` threads (2 for this function).

Aspects: four concurrent slow requests never run more than two at a time, so they take
at least two rounds; a sync handler gets the body already read, as ``request.data``,
and runs off the event loop's thread.
"""

import time
from concurrent.futures import ThreadPoolExecutor

import httpx2
import pytest
from tests.support.servers import RunningFunction, Serve

SLEEP = 0.4  # what /slow sleeps for, in func.py


@pytest.fixture(scope="module")
def server(serve_shared: Serve) -> RunningFunction:
    return serve_shared("http_sync")


def test_at_most_sync_workers_run_at_once(server: RunningFunction) -> None:
    began = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: httpx2.get(server.url + "/slow", timeout=30), range(4)))
    elapsed = time.monotonic() - began
    assert [r.status_code for r in responses] == [200] * 4
    assert max(r.json()["most_at_once"] for r in responses) <= 2
    assert elapsed >= 2 * SLEEP


def test_a_sync_handler_gets_the_body_as_data_in_a_worker_thread(server: RunningFunction) -> None:
    reply = httpx2.post(server.url + "/data", content=b"read for you").json()
    assert reply["data"] == "read for you"
    assert reply["thread"].startswith("unkai-sync")
