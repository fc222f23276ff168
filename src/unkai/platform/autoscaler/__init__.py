"""KPA, Knative's pod autoscaler, for the embedded platform: pure cores, a thin loop.

* :mod:`.config`: global settings (``config-autoscaler``);
* :mod:`.spec`: one revision's settings from its annotations and containerConcurrency;
* :mod:`.collector` + :mod:`.buckets`: concurrency and request rate from the gateway,
  averaged over the stable and panic windows;
* :mod:`.decider`: desired pods from observed load (pure);
* :mod:`.activation`: bounds, initial scale, scale to zero, the Active condition (pure);
* :mod:`.surge`: instances for the requests queued beyond ready capacity (pure);
* :mod:`.loop`: :class:`Autoscaler`, which ticks and talks to :mod:`.ports`;
* :mod:`.metrics`: Prometheus gauges.

See ``docs/autoscaling.md``.
"""

from unkai.platform.autoscaler.activation import Activity
from unkai.platform.autoscaler.collector import Meter, Observation
from unkai.platform.autoscaler.config import AutoscalerConfig
from unkai.platform.autoscaler.loop import Autoscaler
from unkai.platform.autoscaler.ports import ReadyPods, Scaler
from unkai.platform.autoscaler.spec import RevisionSpec, revision_spec
from unkai.platform.autoscaler.status import RevisionStatus

__all__ = [
    "Activity",
    "Autoscaler",
    "AutoscalerConfig",
    "Meter",
    "Observation",
    "ReadyPods",
    "RevisionSpec",
    "RevisionStatus",
    "Scaler",
    "revision_spec",
]
