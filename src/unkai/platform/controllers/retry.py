"""When a failed reconcile is tried again: per key, exponential backoff with a cap.

A reconcile fails for reasons that pass (a store busy with a large write, a data plane
answer that raised once) and for reasons that need a change elsewhere. Dropping the key
after a failure, as a first version did, left the object wrong until something
unrelated touched it. Knative's controllers requeue a failed key through client-go's
rate-limited work queue (5 ms doubling per failure, capped); kopf retries a handler after
a default delay. Here the first retry comes after 50 ms and the delay doubles up to a
minute, so a transient fault heals at once and a lasting one costs a line a minute per
object, not a busy loop. A periodic resync (:data:`RESYNC_SECONDS`) queues every object
again, as informers' resync does, for what no event announces.
"""

from __future__ import annotations

from typing import Final

from unkai.platform.backoff import restart_delay

FIRST_DELAY: Final = 0.05
MAX_DELAY: Final = 60.0
RESYNC_SECONDS: Final = 600.0


def retry_delay(failures: int) -> float:
    """Seconds to wait before the next try of a key that has failed ``failures`` times
    in a row (``failures`` ≥ 1)."""
    return restart_delay(failures, base=FIRST_DELAY, cap=MAX_DELAY)
