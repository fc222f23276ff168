"""Knative manifests from ``func.yaml`` (pure builders: no I/O, table-tested).

``unkai deploy`` applies what :func:`make_service` returns, locally with a bundle
reference as the image and on a cluster with a built image. Only the fields ``func.yaml``
speaks about are set, so a server-side apply leaves everything else (a traffic split
made with ``unkai traffic``, annotations added by hand) as it is.

A function's Triggers carry :data:`FUNCTION_LABEL`, so deploy finds the ones it made
before and :func:`trigger_changes` says how to make them exactly what ``func.yaml`` asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from unkai.api.funcyaml import FuncSpec, Signature
from unkai.kube.conditions import condition

AUTOSCALING = "autoscaling.knative.dev"
FUNCTION_LABEL = "function.unkai.dev/name"
RESTARTED_AT = "function.unkai.dev/restartedAt"
"""On the revision template: when ``unkai deploy`` last asked a failed function to start
again. A new value is a new revision, which starts afresh (``kubectl rollout restart``'s
way: it sets ``kubectl.kubernetes.io/restartedAt``)."""


def scale_annotations(spec: FuncSpec) -> dict[str, str]:
    """``deploy.scale`` as the ``autoscaling.knative.dev/*`` annotations Knative reads."""
    scale = spec.deploy.scale
    values: dict[str, float | int | str | None] = {
        "min-scale": scale.min,
        "max-scale": scale.max,
        "initial-scale": scale.initial,
        "target": scale.target,
        "metric": scale.metric,
        "target-utilization-percentage": scale.utilization,
    }
    return {
        f"{AUTOSCALING}/{key}": _text(value) for key, value in values.items() if value is not None
    }


def make_service(
    spec: FuncSpec,
    *,
    image: str,
    namespace: str,
    one_at_a_time: bool = False,
    restarted_at: str | None = None,
    sink_env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The Knative Service running ``image`` as the function ``spec`` describes.

    ``one_at_a_time``: its instances serve one request at a time (a sync handler, see
    ``unkai.runtime.concurrency``), so containerConcurrency is 1 unless func.yaml sets it.
    ``restarted_at``: the template's :data:`RESTARTED_AT` (see :func:`restart_stamp`).
    ``sink_env``: ``K_SINK`` and ``K_CE_OVERRIDES`` for func.yaml's ``sink``
    (:mod:`unkai.kube.sinks`), beside the function's own env. A gRPC function
    (``signature: grpc``) gets its port named ``h2c``, so Knative speaks HTTP/2 to it.
    """
    deploy = spec.deploy
    container: dict[str, Any] = {"image": image, "env": env_entries(spec, sink_env)}
    if spec.env_from:
        container["envFrom"] = [source.ref.env_from() for source in spec.env_from]
    if spec.signature is Signature.GRPC:  # gRPC: HTTP/2 cleartext to the container
        container["ports"] = [{"name": "h2c", "containerPort": 8080}]
    template_spec: dict[str, Any] = {"containers": [container]}
    if deploy.concurrency is not None:
        template_spec["containerConcurrency"] = deploy.concurrency
    elif one_at_a_time:
        template_spec["containerConcurrency"] = 1
    if deploy.timeout is not None:
        template_spec["timeoutSeconds"] = deploy.timeout
    template_metadata: dict[str, Any] = {"labels": {FUNCTION_LABEL: spec.name}}
    annotations = {**deploy.annotations, **scale_annotations(spec)}
    if restarted_at is not None:
        annotations[RESTARTED_AT] = restarted_at
    if annotations:
        template_metadata["annotations"] = annotations
    metadata: dict[str, Any] = {
        "name": spec.name,
        "namespace": namespace,
        "labels": {**deploy.labels, FUNCTION_LABEL: spec.name},
    }
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {"template": {"metadata": template_metadata, "spec": template_spec}},
    }


def env_entries(spec: FuncSpec, sink_env: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """``env`` (then ``sink_env``) as the container's entries: text as ``value``, a Secret
    or ConfigMap key (``{{ secret:NAME:KEY }}``) as ``valueFrom``, read where the function
    runs."""
    references = spec.references
    return [
        {"name": name, "valueFrom": references[name].value_from()}
        if name in references
        else {"name": name, "value": value}
        for name, value in {**spec.env, **(sink_env or {})}.items()
    ]


def restart_stamp(current: dict[str, Any] | None, *, now: datetime) -> str | None:
    """The :data:`RESTARTED_AT` for the next deploy over ``current`` (the Service as it is).

    A revision that keeps failing to start stops being retried (the data plane's
    CrashLoopBackOff) and an unchanged function would make no new revision, so when the
    Service's latest revision has failed the deploy stamps ``now``: the same function
    then starts again as a new revision. Otherwise the stamp stays as it was, so an
    unchanged deploy changes nothing."""
    if current is None:
        return None
    template = current.get("spec", {}).get("template", {}).get("metadata", {})
    kept = (template.get("annotations") or {}).get(RESTARTED_AT)
    status = current.get("status", {})
    caught_up = status.get("observedGeneration") == current["metadata"].get("generation")
    if caught_up and condition(current, "ConfigurationsReady").get("status") == "False":
        return now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return str(kept) if kept is not None else None


def _text(value: float | int | str) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def make_triggers(spec: FuncSpec, *, namespace: str) -> list[dict[str, Any]]:
    """One Trigger per ``deploy.subscriptions`` entry, delivering to the function's Service."""
    return [
        {
            "apiVersion": "eventing.knative.dev/v1",
            "kind": "Trigger",
            "metadata": {
                "name": f"{spec.name}-{index}",
                "namespace": namespace,
                "labels": {FUNCTION_LABEL: spec.name},
            },
            "spec": {
                "broker": subscription.broker,
                **(
                    {"filter": {"attributes": dict(subscription.filters)}}
                    if subscription.filters
                    else {}
                ),
                "subscriber": {
                    "ref": {
                        "apiVersion": "serving.knative.dev/v1",
                        "kind": "Service",
                        "name": spec.name,
                    }
                },
            },
        }
        for index, subscription in enumerate(spec.deploy.subscriptions)
    ]


@dataclass(frozen=True)
class TriggerChanges:
    """What turns a function's Triggers into the wanted ones."""

    apply: list[dict[str, Any]]
    """Created, or updated in place."""
    recreate: list[dict[str, Any]]
    """Their broker changed, which Knative refuses (immutable): deleted, then created."""
    delete: list[str]
    """Names of the function's Triggers that ``func.yaml`` no longer asks for."""
    checks: list[dict[str, Any]]
    """What a server-side dry run can validate before anything changes: all wanted
    Triggers, a recreated one with its current broker (the new one is only accepted
    once the old Trigger is gone)."""


def trigger_changes(wanted: list[dict[str, Any]], existing: list[dict[str, Any]]) -> TriggerChanges:
    """Compare :func:`make_triggers`' output with the Triggers carrying the function's label."""
    brokers = {trigger["metadata"]["name"]: trigger["spec"].get("broker") for trigger in existing}
    apply: list[dict[str, Any]] = []
    recreate: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    for trigger in wanted:
        current = brokers.get(trigger["metadata"]["name"], trigger["spec"]["broker"])
        (apply if current == trigger["spec"]["broker"] else recreate).append(trigger)
        checks.append({**trigger, "spec": {**trigger["spec"], "broker": current}})
    names = {trigger["metadata"]["name"] for trigger in wanted}
    delete = sorted(name for name in brokers if name not in names)
    return TriggerChanges(apply=apply, recreate=recreate, delete=delete, checks=checks)
