"""The broker's per-event codec work, with the official SDK and with ``unkai.events.codec``.

Run: PYTHONPATH=. .venv/bin/python benchmarks/eventing_codec.py [--events 20000]

The hot path of one event, as the broker does it: decode a binary-mode request (the one
wrk sends in ``ce_post.lua``, plus a ``time``), add ``knativearrivaltime`` and
``knativebrokerttl``, write the JSON format for the store, drop the TTL and encode the
event in binary mode for the subscriber. Prints µs per event, best of five runs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from cloudevents.core.bindings import http as binding
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from unkai.events import codec
from unkai.events import http as sdk_http

HEADERS = {"ce-specversion": "1.0", "ce-type": "dev.unkai.bench", "ce-source": "/bench",
           "ce-id": "bench-1", "ce-time": "2026-12-05T10:00:00Z",
           "content-type": "application/json"}  # fmt: skip
BODY = b'{"n": 1}'
ADD = {"knativearrivaltime": "2026-12-05T10:00:00.123456Z", "knativebrokerttl": 255}
FORMAT = JSONFormat()


def with_sdk() -> None:
    _, events = sdk_http.decode(HEADERS, BODY)
    attributes = {**events[0].get_attributes(), **ADD}
    stamped = CloudEvent(attributes, events[0].get_data())
    FORMAT.write(stamped)
    attributes.pop("knativebrokerttl")
    binding.to_binary(CloudEvent(attributes, stamped.get_data()), FORMAT)


def with_codec() -> None:
    _, events = codec.decode(HEADERS, BODY)
    stamped = events[0].with_extensions(ADD)
    codec.to_json(stamped)
    codec.encode_binary(stamped.with_extensions(drop=("knativebrokerttl",)))


def per_event(step: Callable[[], None], count: int) -> float:
    best = float("inf")
    for _ in range(5):
        began = time.perf_counter()
        for _ in range(count):
            step()
        best = min(best, (time.perf_counter() - began) / count)
    return best * 1e6


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    count = parser.parse_args().events
    sdk, lean = per_event(with_sdk, count), per_event(with_codec, count)
    print(f"SDK: {sdk:.1f} µs/event; unkai.events.codec: {lean:.1f} µs/event ({sdk / lean:.1f}×)")
