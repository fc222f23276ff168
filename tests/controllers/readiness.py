"""An in-memory data plane for controller tests: revisions become ready when told."""

from __future__ import annotations

from dataclasses import dataclass, field

from unkai.platform.contracts import Report, RevisionHealth

READY = RevisionHealth(
    resources_available=Report("True"),
    container_healthy=Report("True"),
    active=Report("True"),
    actual_replicas=1,
    desired_replicas=1,
)


def failing(reason: str, message: str) -> RevisionHealth:
    """A revision whose container keeps exiting."""
    return RevisionHealth(
        resources_available=Report("True"),
        container_healthy=Report("False", reason, message),
    )


@dataclass
class InMemoryReadiness:
    """Implements ``RevisionReadiness``: reports only what a test has set, and raises
    for a revision while :meth:`break_for` says so (a data plane with a passing fault)."""

    reports: dict[tuple[str, str], RevisionHealth] = field(default_factory=dict)
    faults: dict[tuple[str, str], int] = field(default_factory=dict)

    def health(self, *, namespace: str, name: str) -> RevisionHealth | None:
        if self.faults.get((namespace, name), 0) > 0:
            self.faults[(namespace, name)] -= 1
            raise OSError(f"the data plane could not read {name}'s instance log")
        return self.reports.get((namespace, name))

    def break_for(self, name: str, asks: int, *, namespace: str = "default") -> None:
        """The next ``asks`` questions about ``name`` raise."""
        self.faults[(namespace, name)] = asks

    def set(self, name: str, health: RevisionHealth, *, namespace: str = "default") -> None:
        self.reports[(namespace, name)] = health
