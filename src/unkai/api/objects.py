"""The parts every Kubernetes object shares, typed: metadata, owner references, conditions.

Objects stay plain JSON dicts, as the store keeps them and the wire carries them; these
``TypedDict`` s only tell mypy which keys exist and what they hold, so a misspelt
``ownerReference`` or a ``generation`` read as a string is a type error instead of a
silent ``None``. Every key is optional (``total=False``), as it is in Kubernetes'
OpenAPI: code reads with ``.get`` and a default where a field may be absent. Shapes
are not checked at run time: the API server's admission (ObjectMeta rules, each kind's
validation) is what makes a stored object match its type. The model is kopf's
``RawMeta``/``RawBody`` (``kopf/_cogs/structs/bodies.py``).
"""

from __future__ import annotations

from typing import Literal, TypedDict

ConditionStatus = Literal["True", "False", "Unknown"]


class OwnerReference(TypedDict, total=False):
    """Who owns an object; the one with ``controller`` set reconciles it."""

    apiVersion: str
    kind: str
    name: str
    uid: str
    controller: bool
    blockOwnerDeletion: bool


class ObjectMeta(TypedDict, total=False):
    name: str
    generateName: str
    namespace: str
    uid: str
    resourceVersion: str
    generation: int
    """Bumped by the store on each spec change, starting at 1."""
    creationTimestamp: str
    deletionTimestamp: str
    labels: dict[str, str]
    annotations: dict[str, str]
    ownerReferences: list[OwnerReference]
    finalizers: list[str]


class Condition(TypedDict, total=False):
    """One entry of ``status.conditions`` (Knative's ``apis.Condition``)."""

    type: str
    status: ConditionStatus
    severity: str
    reason: str
    message: str
    lastTransitionTime: str


class Status(TypedDict, total=False):
    """The status fields every Knative kind has (Knative's ``duckv1.Status``)."""

    observedGeneration: int
    conditions: list[Condition]
    annotations: dict[str, str]


class Object(TypedDict, total=False):
    """What any object has: its kind and its metadata."""

    apiVersion: str
    kind: str
    metadata: ObjectMeta


class ObjectReference(TypedDict, total=False):
    """A pointer to one object, as an Event's ``involvedObject`` names it."""

    apiVersion: str
    kind: str
    name: str
    namespace: str
    uid: str


class EventSource(TypedDict, total=False):
    component: str


class Event(Object, total=False):
    """A core/v1 Event: what happened to ``involvedObject``, for ``kubectl describe``."""

    involvedObject: ObjectReference
    type: str
    reason: str
    message: str
    source: EventSource
    reportingComponent: str
    firstTimestamp: str
    lastTimestamp: str
    count: int
