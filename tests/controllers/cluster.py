"""A tiny level-based world for driving the pure reconcilers the way the loop will.

Objects live in a dict keyed by (kind, name) in one namespace. Writes behave like the
store: a new object starts at generation 1 and a spec change bumps the generation;
status is written separately. :meth:`Cluster.settle` runs every reconciler until
nothing changes, so a test states intent (apply a Service, make a revision ready) and
then looks at the result, as a user would with kubectl.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.controllers.readiness import InMemoryReadiness
from unkai.api.knative import KINDS
from unkai.platform.contracts import RoutingTable
from unkai.platform.controllers.configuration import reconcile_configuration
from unkai.platform.controllers.revision import reconcile_revision
from unkai.platform.controllers.rollout import Timing
from unkai.platform.controllers.route import Network, RolloutKey, reconcile_route
from unkai.platform.controllers.service import reconcile_service

NAMESPACE = "default"
PLURALS = {
    "Service": "services",
    "Configuration": "configurations",
    "Revision": "revisions",
    "Route": "routes",
}


class Cluster:
    def __init__(self, *, network: Network | None = None) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.readiness = InMemoryReadiness()
        self.network = network or Network()
        self.gateway: dict[str, RoutingTable] = {}
        self.timings: dict[str, Mapping[RolloutKey, Timing]] = {}
        self.now = datetime(2026, 1, 1, tzinfo=UTC)
        self._uids = itertools.count(1)

    def tick(self, seconds: int = 1) -> None:
        self.now += timedelta(seconds=seconds)

    def get(self, kind: str, name: str) -> dict[str, Any]:
        return self.objects[(kind, name)]

    def of_kind(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: obj for (k, name), obj in self.objects.items() if k == kind}

    def apply(self, obj: dict[str, Any]) -> None:
        """Create or update through admission, as the API server does."""
        kind = KINDS[("serving.knative.dev", "v1", PLURALS[obj["kind"]])]
        key = (obj["kind"], obj["metadata"]["name"])
        existing = self.objects.get(key)
        candidate = kind.default(copy.deepcopy(obj))
        problems = kind.validate(candidate, existing)
        assert problems == [], problems
        meta = candidate["metadata"]
        meta.setdefault("namespace", NAMESPACE)
        if existing is None:
            meta["uid"] = f"uid-{next(self._uids)}"
            meta["generation"] = 1
        else:
            meta["uid"] = existing["metadata"]["uid"]
            changed = existing.get("spec") != candidate.get("spec")
            meta["generation"] = existing["metadata"]["generation"] + changed
            candidate["status"] = existing.get("status", {})
        self.objects[key] = candidate

    def set_status(self, kind: str, name: str, status: dict[str, Any]) -> bool:
        obj = self.objects[(kind, name)]
        if obj.get("status") == status:
            return False
        obj["status"] = status
        return True

    def settle(self, *, rounds: int = 20) -> int:
        """Reconcile everything until a full round changes nothing; returns rounds used."""
        for count in range(1, rounds + 1):
            before = copy.deepcopy(self.objects), dict(self.gateway)
            self._round()
            if (self.objects, self.gateway) == before:
                return count
        raise AssertionError("did not settle")

    def _round(self) -> None:
        for name, service in list(self.of_kind("Service").items()):
            decision = reconcile_service(
                service,
                configuration=self.objects.get(("Configuration", name)),
                route=self.objects.get(("Route", name)),
                now=self.now,
            )
            for child in (decision.configuration, decision.route):
                if child is not None:
                    self.apply(child)
            self.set_status("Service", name, decision.status)
        for name, configuration in list(self.of_kind("Configuration").items()):
            result = reconcile_configuration(
                configuration, revisions=self.of_kind("Revision").values(), now=self.now
            )
            if result.revision is not None:
                self.apply(result.revision)
            self.set_status("Configuration", name, result.status)
        for name, revision in list(self.of_kind("Revision").items()):
            status = reconcile_revision(revision, readiness=self.readiness, now=self.now)
            self.set_status("Revision", name, status)
        for name, route in list(self.of_kind("Route").items()):
            outcome = reconcile_route(
                route,
                configurations=self.of_kind("Configuration"),
                revisions=self.of_kind("Revision"),
                network=self.network,
                programmed=self.gateway.get(name),
                now=self.now,
                timings=self.timings.get(name),
            )
            self.timings[name] = outcome.timings
            if outcome.table is not None:
                self.gateway[name] = outcome.table
            self.set_status("Route", name, outcome.status)


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    """The condition of ``type_`` in ``obj``'s status."""
    return next(c for c in obj["status"]["conditions"] if c["type"] == type_)
