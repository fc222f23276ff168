"""The shape of SeBS's graph-pagerank: a Barabasi graph seeded through ``random.seed``.

igraph draws from Python's ``random`` module on the thread that imported it; SeBS's
validation expects the numbers that seed gives (see tests/functions/test_sebs.py).
"""

import datetime
import random

import igraph


def handler(event):
    if "seed" in event:
        random.seed(event["seed"])
    started = datetime.datetime.now()
    graph = igraph.Graph.Barabasi(event.get("size"), 10)
    generated = datetime.datetime.now()
    found = graph.pagerank()
    computed = datetime.datetime.now()
    return {
        "result": found[0],
        "measurement": {
            "graph_generating_time": (generated - started) / datetime.timedelta(microseconds=1),
            "compute_time": (computed - generated) / datetime.timedelta(microseconds=1),
        },
    }
