"""Crash safety: kill -9 the platform while events flow; every event that got a 202
reaches its subscriber after a restart (at least once; duplicates are counted)."""

import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import httpx2
import pytest
from lightkube import Client, KubeConfig

from tests.eventing.conftest import Subscriber, broker, ready, trigger
from tests.support.cli import unkai, user_env
from unkai.kube import kinds
from unkai.platform import state

pytestmark = pytest.mark.slow


def start(env: dict[str, str], data: Path) -> state.Running:
    started = unkai("up", "--detach", "--api-port", "0", "--port", "0", env=env)
    assert started.returncode == 0, started.stdout + started.stderr
    running = state.PlatformDir.under(data).running()
    assert running is not None
    return running


def apply_and_wait(client: Client, manifest: dict[str, object], name: str) -> None:
    kind = kinds.find(str(manifest["apiVersion"]), str(manifest["kind"]))
    assert kind is not None
    resource = kinds.resource(kind)
    client.apply(resource.from_dict({**manifest, "metadata": {"name": name,
                 "namespace": "default"}}), force=True)  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if ready(client.get(resource, name, namespace="default").to_dict()):
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} never became Ready")


def test_no_acknowledged_event_is_lost_when_the_platform_is_killed(
    tmp_path: Path, subscriber: Subscriber
) -> None:
    env = user_env(tmp_path)
    data = tmp_path / "data"
    running = start(env, data)
    try:
        kubeconfig = state.PlatformDir.under(data).kubeconfig
        client = Client(KubeConfig.from_file(kubeconfig), field_manager="tests")
        apply_and_wait(client, broker(), "default")
        apply_and_wait(client, trigger("all", subscriber.url), "all")
        client.close()

        acknowledged: list[str] = []
        stop = threading.Event()

        def produce() -> None:
            with httpx2.Client(timeout=5) as http:
                for number in range(100_000):
                    if stop.is_set():
                        return
                    headers = {"ce-specversion": "1.0", "ce-type": "crash", "ce-source": "/t",
                               "ce-id": f"e{number}", "content-type": "text/plain"}  # fmt: skip
                    try:
                        response = http.post(f"{running.gateway_url}/default/default",
                                             headers=headers, content=b"{}")  # fmt: skip
                    except httpx2.HTTPError:
                        return  # the platform is gone
                    if response.status_code == 202:
                        acknowledged.append(f"e{number}")

        producer = threading.Thread(target=produce)
        producer.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(running.pid, signal.SIGKILL)
        producer.join(10)
        stop.set()
        assert len(acknowledged) >= 200

        start(env, data)
        wanted = set(acknowledged)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with subscriber.lock:
                seen = {r.headers.get("ce-id") for r in subscriber.received}
            if wanted <= seen:
                break
            time.sleep(0.05)
        with subscriber.lock:
            counts = Counter(r.headers.get("ce-id") for r in subscriber.received)
        missing = wanted - set(counts)
        duplicates = sum(n - 1 for n in counts.values() if n > 1)
        print(f"acknowledged {len(wanted)}, delivered {len(counts)}, duplicates {duplicates}")
        assert not missing, f"{len(missing)} acknowledged events never arrived"
    finally:
        unkai("down", env=env)
