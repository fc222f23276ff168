"""A library with a per-thread random generator that follows ``random.seed`` (like igraph).

Where the library is imported, its generator is the ``random`` module, so
``random.seed(n)`` makes every answer repeat; any other thread gets a generator of its
own, seeded from the OS, and the same request answers 200 with different numbers.
"""

import random
import threading

_per_thread = threading.local()
_per_thread.rng = random  # what the library sets up on the thread that imports it


def _generator():
    if not hasattr(_per_thread, "rng"):
        _per_thread.rng = random.Random()
    return _per_thread.rng


def handler(event):
    random.seed(event["seed"])
    rng = _generator()
    return {"numbers": [rng.random() for _ in range(3)]}
