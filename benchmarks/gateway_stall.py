"""Does the control plane stall the gateway? Requests through a real `unkai up` while
the API lists a large collection of ConfigMaps (issue 12: 17.7 MB stalled gateway
requests for 914 ms).

Run by hand: ``.venv/bin/python benchmarks/gateway_stall.py``. It starts ``unkai up
--detach`` (own data dir, free ports), deploys the hello function (min-scale 1, so the
instance stays), stores ``--configmaps`` ConfigMaps of ``--kib`` KiB each, then runs
one client that calls the function through the gateway on a keep-alive connection,
one request after another, for the whole run. Meanwhile the main thread lists every
ConfigMap ``--lists`` times over HTTPS, as ``kubectl get configmaps`` does. It prints the
gateway's latency while nothing else happens and while the listings run, and how long
each listing took: the worst gateway latency during a listing is the stall.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import threading
import time
from pathlib import Path

from platform_client import platform

HERE = Path(__file__).parent
HOST = "hello.default.localhost"
ONE_INSTANCE = {"autoscaling.knative.dev/min-scale": "1", "autoscaling.knative.dev/max-scale": "1"}
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


class Prober(threading.Thread):
    """Calls the function through the gateway, one request at a time, recording when
    each started and how long it took."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.samples: list[tuple[float, float]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self.stopping.is_set():
            started = time.monotonic()
            connection.request("GET", "/", headers={"Host": HOST})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"gateway answered {response.status}")
            self.samples.append((started, time.monotonic() - started))

    def between(self, start: float, end: float) -> list[float]:
        return [took for at, took in self.samples if start <= at < end]


def summary(latencies: list[float], seconds: float) -> str:
    ms = sorted(value * 1000 for value in latencies)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    slow = sum(1 for value in ms if value > 100)
    return (
        f"{len(ms) / seconds:.0f} requests/s, p50 {statistics.median(ms):.2f} ms, "
        f"p99 {p99:.2f} ms, max {ms[-1]:.1f} ms, {slow} over 100 ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configmaps", type=int, default=180)
    parser.add_argument("--kib", type=int, default=100)
    parser.add_argument("--lists", type=int, default=5)
    args = parser.parse_args()
    with platform() as unkai:
        unkai.deploy("hello", HERE / "functions" / "hello_http", annotations=ONE_INSTANCE)
        unkai.wait_ready("hello")
        value = "x" * (args.kib * 1024)
        for number in range(args.configmaps):
            body = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": f"big-{number:04d}"}, "data": {"blob": value}}  # fmt: skip
            unkai.api.post(CONFIGMAPS, json=body).raise_for_status()
        prober = Prober(unkai.gateway_port)
        prober.start()
        quiet_start = time.monotonic()
        time.sleep(3)
        quiet_end = time.monotonic()
        listings: list[tuple[float, float]] = []
        size = 0
        for _ in range(args.lists):
            started = time.monotonic()
            response = unkai.api.get(CONFIGMAPS)
            response.raise_for_status()
            size = len(response.content)
            listings.append((started, time.monotonic()))
            time.sleep(0.5)
        prober.stopping.set()
        prober.join()
    print(f"{args.configmaps} ConfigMaps, a listing is {size / 1e6:.1f} MB of JSON\n")
    quiet = summary(prober.between(quiet_start, quiet_end), quiet_end - quiet_start)
    print(f"gateway, quiet 3 s: {quiet}")
    during: list[float] = []
    for start, end in listings:
        during += prober.between(start, end)
    busy = summary(during, sum(end - start for start, end in listings))
    print(f"gateway, during the {args.lists} listings: {busy}")
    took = ", ".join(f"{(end - start) * 1000:.0f}" for start, end in listings)
    print(f"each listing took (ms): {took}")


if __name__ == "__main__":
    main()
