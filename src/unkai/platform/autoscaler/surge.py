"""Scale-up for requests that queue: as many instances as the queue needs, at once.

Knative's KPA scales up from window averages: a step from 1 to 50 clients enters
panic when the 6 s panic average reaches twice the ready capacity, and the average
climbs one tick (2 s) at a time, so 8 instances were ready ~9.5 s after the step on
Unkai's platform. Unkai's instances start in milliseconds, so waiting for an average
to climb wastes what a fork gives. The gateway holds a request only when no ready
instance has room (its breaker is full, or there is none), and it counts every
request in flight, held ones included. When it holds one, :func:`queue_demand` says
how many instances the requests in flight need now; the loop asks for them and
enters panic holding that count (:meth:`DeciderState.surged`), so that the KPA then
settles as it would have: no scale down for a stable window after the last surge.

Bounds: the count is capped by max-scale (with the platform's max-scale-limit) and
Knative's max-scale-up-rate, :func:`~.activation.settle` applies the bounds as to any
decision, and the instances start through the platform's limit on starts at once.
"""

from __future__ import annotations

import math

from unkai.platform.autoscaler.spec import RevisionSpec


def queue_demand(spec: RevisionSpec, *, in_flight: int) -> int:
    """Instances for ``in_flight`` requests (held ones included) at the revision's
    per-instance target: its concurrency target, or its containerConcurrency when it
    scales on requests per second (then only a full breaker holds requests); 0 when
    nothing bounds an instance's share (rps with containerConcurrency 0). At most
    max-scale, so that a revision held at its maximum is not asked again and again."""
    per_instance = (
        spec.target_value if spec.metric == "concurrency" else float(spec.container_concurrency)
    )
    if per_instance <= 0 or in_flight <= 0:
        return 0
    wanted = math.ceil(in_flight / per_instance)
    return min(wanted, spec.max_scale) if spec.max_scale else wanted


def scale_up_limit(spec: RevisionSpec, *, ready_pods: int) -> int:
    """Knative's ``maxScaleUp``: at most max-scale-up-rate × the ready instances."""
    return math.ceil(spec.max_scale_up_rate * max(1, ready_pods))
