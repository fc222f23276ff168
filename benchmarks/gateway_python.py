"""The gateway's Python per request, without I/O: its protocol objects driven with the
unit tests' fake transports and clock (``tests/gateway/fakes.py``).

Run by hand from the checkout: ``taskset -c 1 .venv/bin/python
benchmarks/gateway_python.py [--profile]``. One client connection, one pooled instance
connection; each request is a wrk-like head in and a uvicorn-like hello response back
(passed on unchanged). Prints the best of seven runs of 50,000 requests in CPU
microseconds per request; ``--profile`` adds cProfile's functions by own time (which
inflates each call: read it for shares, not for sizes).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.gateway.fakes

from tests.gateway.fakes import HOST, Harness

REQUEST = f"GET / HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n".encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ndate: Sat, 05 Dec 2026 11:00:00 GMT\r\nserver: uvicorn\r\n"
    b"content-type: text/plain\r\ncontent-length: 13\r\n\r\nHello, world!"
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    harness = Harness()
    instance = harness.instance_ready()
    client = harness.connection

    def one() -> None:
        client.data_received(REQUEST)
        harness.instance.written.clear()
        instance.data_received(RESPONSE)
        harness.client.written.clear()

    for _ in range(20_000):  # warm-up
        one()
    best = float("inf")
    for _ in range(7):
        started = time.process_time()
        for _ in range(50_000):
            one()
        best = min(best, (time.process_time() - started) / 50_000)
    print(f"{best * 1e6:.1f} µs of CPU per request (Python, no I/O)")
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(lambda: [one() for _ in range(50_000)])
        pstats.Stats(profile).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
