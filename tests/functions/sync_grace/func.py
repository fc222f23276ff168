"""A sync handler that outlives the grace period (2 s): it sleeps for ?seconds= (30)."""

import logging
import time


def handle(request):
    logging.getLogger("sync-grace").info("sleeping")
    time.sleep(float(request.query_params.get("seconds", "30")))
    return "woke up"
