"""What the autoscaler last decided for a revision, for status, the gateway and metrics."""

from __future__ import annotations

from dataclasses import dataclass

from unkai.platform.autoscaler.activation import MESSAGES, Activity
from unkai.platform.autoscaler.collector import Observation


@dataclass(frozen=True)
class RevisionStatus:
    """The latest decision for one revision.

    ``want`` is the wanted scale (``None`` until the first decision with data, the
    ``-1`` of Knative's ``status.desiredScale``); ``replicas`` the count last handed to
    the :class:`~.ports.Scaler`. ``activator_in_path`` is Knative's SKS Proxy mode: the
    gateway should buffer the revision's requests in its activator while it is true.
    ``activity``/``reason`` feed the Revision's ``Active`` condition; ``notes`` say how
    Unkai departs from what the revision asked (e.g. an HPA class).
    """

    want: int | None
    replicas: int | None
    ready_pods: int
    panicking: bool
    excess_burst_capacity: int
    target_value: float
    observed: Observation | None
    activity: Activity
    reason: str
    activator_in_path: bool
    notes: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """The condition message Knative writes for :attr:`reason`."""
        return MESSAGES.get(self.reason, "")
