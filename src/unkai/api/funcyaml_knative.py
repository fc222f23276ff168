"""Knative ``func``'s own ``func.yaml``, read as it is and mapped onto :class:`FuncSpec`.

A project made by ``func create -l python`` deploys unchanged, so its func.yaml is read
in func's format (``knative/func`` ``schema/func_yaml-schema.json``), told apart from
Unkai's by its ``specVersion``: func writes the version of its last migration
(``0.36.0``), Unkai ``"1"``. As in func's schema, every object refuses fields it does
not define, and ``specVersion`` and ``created`` are required.

What each field becomes (the table is in docs/func-yaml.md):

* honoured: ``name``; ``invoke`` (which of func-python's middlewares serves the code:
  ``http``, the default, is the asgi signature; ``cloudevent`` decodes the event into
  the scope); ``namespace`` (else ``deploy.namespace``); ``run.envs`` (values,
  ``{{ env:NAME }}`` taken from the environment of whoever deploys, as func does, and
  Secret and ConfigMap references, one key or all: see ``unkai.api.envrefs``);
  ``deploy.annotations``, ``deploy.labels``, ``deploy.options.scale``,
  ``deploy.options.resources.limits.concurrency`` (containerConcurrency) and
  ``deploy.subscriptions`` (a Trigger on the broker ``source`` names);
* refused, with the field and line: what would leave the function without something
  it counts on here (volumes, Kafka), a malformed env template, another
  ``runtime`` than python, another ``deployer`` than knative, health endpoints other
  than the ones the runtime answers;
* noted and not applied (:attr:`FuncSpec.notes`, printed by ``unkai deploy``): what
  func uses to build or push images, records of func's own past builds and deploys,
  and settings with no meaning on Unkai's instances (resources, service account…).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any, Final, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from unkai.api import envrefs, yamlsource
from unkai.api.contract import RESERVED_ENV
from unkai.api.funcyaml import ENV_NAME, PATTERN_MEANINGS, FuncSpec, Signature, pydantic_problems

SPEC_VERSION: Final = re.compile(r"^\d+\.\d+\.\d+$")
HEALTH_ENDPOINTS: Final = {"liveness": "/health/liveness", "readiness": "/health/readiness"}
# Fields func uses for images, records of its own builds and deploys, and settings that
# cannot apply to Unkai's instances: accepted as in func's schema, not applied.
NOT_APPLIED: Final = (
    ("build",),
    ("registry",),
    ("registryInsecure",),
    ("image",),
    ("domain",),
    ("run", "startTimeout"),
    ("deploy", "image"),
    ("deploy", "deployer"),
    ("deploy", "imagePullSecret"),
    ("deploy", "serviceAccountName"),
    ("deploy", "managementDisabled"),
    ("deploy", "options", "resources", "requests"),
    ("deploy", "options", "resources", "limits", "cpu"),
    ("deploy", "options", "resources", "limits", "memory"),
)

UnsetEnv = Literal["refuse", "inherit"]
Problem = yamlsource.Problem
Located = tuple[tuple[str | int, ...], str]  # a field path in func's format, and what is wrong


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel)


class Env(_Model):
    name: str | None = None
    value: str | None = None


class Git(_Model):
    url: str | None = None
    revision: str | None = None
    context_dir: str | None = None


class Mount(_Model):
    host_path: str
    path: str


class Build(_Model):
    git: Git | None = None
    builder_images: dict[str, str] = Field(default_factory=dict)
    buildpacks: list[str] = Field(default_factory=list)
    builder: Literal["pack", "s2i"] | None = None
    build_envs: list[Env] = Field(default_factory=list)
    pvc_size: str | None = None
    remote_storage_class: str | None = None
    base_image: str | None = None
    volumes: list[Mount] = Field(default_factory=list)


class Volume(_Model):
    secret: str | None = None
    config_map: str | None = None
    persistent_volume_claim: dict[str, Any] | None = None
    empty_dir: dict[str, Any] | None = None
    path: str | None = None


class Kafka(_Model):
    brokers: str
    topic: str
    consumer_group: str


class Run(_Model):
    envs: list[Env] = Field(default_factory=list)
    volumes: list[Volume] = Field(default_factory=list)
    start_timeout: int | None = None
    kafka: Kafka | None = None


class Scale(_Model):
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)
    metric: Literal["concurrency", "rps"] | None = None
    target: float | None = Field(None, ge=0)
    utilization: float | None = Field(None, ge=1, le=100)


class Requests(_Model):
    cpu: str | None = None
    memory: str | None = None


class Limits(Requests):
    concurrency: int | None = Field(None, ge=0)


class Resources(_Model):
    requests: Requests | None = None
    limits: Limits | None = None


class Options(_Model):
    scale: Scale | None = None
    resources: Resources | None = None


class Label(_Model):
    key: str
    value: str = ""


class HealthEndpoints(_Model):
    liveness: str | None = None
    readiness: str | None = None


class Subscription(_Model):
    source: str
    filters: dict[str, str] = Field(default_factory=dict)


class Deploy(_Model):
    namespace: str | None = None
    image: str | None = None
    annotations: dict[str, str] = Field(default_factory=dict)
    options: Options | None = None
    labels: list[Label] = Field(default_factory=list)
    health_endpoints: HealthEndpoints | None = None
    service_account_name: str | None = None
    image_pull_secret: str | None = None
    deployer: Literal["knative", "raw", "keda"] | None = None
    subscriptions: list[Subscription] = Field(default_factory=list)
    management_disabled: bool | None = None


class KnativeFunc(_Model):
    """The whole of func's ``func.yaml`` (its schema's ``Function``)."""

    spec_version: str
    name: str
    domain: str | None = None
    runtime: str | None = None
    registry: str | None = None
    registry_insecure: bool | None = None
    image: str | None = None
    namespace: str | None = None
    deployer: Literal["knative", "raw", "keda"] | None = None
    created: datetime.datetime | str
    invoke: Literal["http", "cloudevent"] | None = None
    build: Build | None = None
    run: Run | None = None
    deploy: Deploy | None = None


def is_knative(data: Mapping[str, Any]) -> bool:
    """Whether a func.yaml mapping is in func's format: its specVersion is func's."""
    version = data.get("specVersion")
    return isinstance(version, str) and SPEC_VERSION.match(version) is not None


def to_spec(
    document: yamlsource.Document,
    source: str,
    *,
    environ: Mapping[str, str],
    unset_env: UnsetEnv = "refuse",
) -> FuncSpec:
    """Validate func's format and map it onto a :class:`FuncSpec` (see the module doc).

    ``{{ env:NAME }}`` takes NAME from ``environ``. Unset, it is an error (``refuse``,
    for whoever deploys or runs the function, as with func) or the entry is left to the
    inherited environment (``inherit``: an instance, whose environment the platform set
    from the deployed Service; there, an entry the environment has already is left to
    it too, whatever NAME is where the instance runs).
    """
    try:
        func = KnativeFunc.model_validate(document.data)
    except pydantic.ValidationError as error:
        raise yamlsource.SourceError(source, pydantic_problems(error, document)) from None
    problems: list[Located] = []
    env, env_from = _env(func.run.envs if func.run else [], environ, unset_env, problems)
    problems += _contradictions(func)
    if problems:
        raise yamlsource.SourceError(
            source, [Problem(path, message, document.line_of(path)) for path, message in problems]
        )
    data, origins = _unkai_fields(func, env)
    data["envFrom"] = env_from
    try:
        spec = FuncSpec.model_validate(data)
    except pydantic.ValidationError as error:
        at_origin = [
            (document.path_of(path), message) for path, message in _at_origin(error, origins)
        ]
        mapped = [Problem(path, message, document.line_of(path)) for path, message in at_origin]
        raise yamlsource.SourceError(source, mapped) from None
    ignored = [yamlsource.format_path(path) for path in NOT_APPLIED if _present(document, path)]
    if ignored:
        spec._notes = (
            f"{source}: not applied on Unkai (image builds, func's own records, or no meaning"
            f" for Unkai's instances): {', '.join(ignored)}",
        )
    return spec


def _unkai_fields(
    func: KnativeFunc, env: dict[str, str]
) -> tuple[dict[str, Any], dict[str, tuple[str | int, ...]]]:
    """The Unkai func.yaml fields func's ones mean, and which field of func's gave each."""
    deploy = func.deploy or Deploy()
    options = deploy.options or Options()
    limits = options.resources.limits if options.resources else None
    unkai: dict[str, Any] = {
        "annotations": dict(deploy.annotations),
        "labels": {label.key: label.value for label in deploy.labels},
        "scale": options.scale.model_dump(exclude_none=True) if options.scale else {},
        "subscriptions": [
            {"broker": sub.source, "filters": dict(sub.filters)} for sub in deploy.subscriptions
        ],
    }
    origins: dict[str, tuple[str | int, ...]] = {
        "name": ("name",),
        "deploy.scale": ("deploy", "options", "scale"),
        "deploy.subscriptions": ("deploy", "subscriptions"),
        "deploy.concurrency": ("deploy", "options", "resources", "limits", "concurrency"),
        "deploy.namespace": ("namespace",) if func.namespace else ("deploy", "namespace"),
    }
    if func.namespace or deploy.namespace:
        unkai["namespace"] = func.namespace or deploy.namespace
    if limits is not None and limits.concurrency is not None:
        unkai["concurrency"] = limits.concurrency
    signature = Signature.CLOUDEVENT if func.invoke == "cloudevent" else Signature.ASGI
    return {"name": func.name, "signature": signature, "env": env, "deploy": unkai}, origins


def _at_origin(
    error: pydantic.ValidationError, origins: Mapping[str, tuple[str | int, ...]]
) -> list[Located]:
    """Unkai's checks of the mapped fields, at the field of func's that gave the value."""
    located: list[Located] = []
    for item in error.errors(include_url=False):
        location = item["loc"]
        path: tuple[str | int, ...] = tuple(location)
        for depth in (2, 1):
            origin = origins.get(".".join(str(part) for part in location[:depth]))
            if origin is not None:
                path = (*origin, *location[depth:])
                break
        message = str(item["ctx"]["error"]) if item["type"] == "value_error" else item["msg"]
        if item["type"] == "string_pattern_mismatch":
            meaning = PATTERN_MEANINGS.get(item["ctx"]["pattern"])
            message = f"{item['input']!r} is {meaning}" if meaning else message
        located.append((path, message))
    return located


def _env(
    envs: list[Env], environ: Mapping[str, str], unset_env: UnsetEnv, problems: list[Located]
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """``run.envs`` as Unkai's ``env`` and ``envFrom`` (templates: ``envrefs``); what
    cannot be mapped goes to ``problems``."""
    env: dict[str, str] = {}
    env_from: list[dict[str, str]] = []
    first: dict[str, int] = {}
    for index, entry in enumerate(envs):
        at: tuple[str | int, ...] = ("run", "envs", index)
        if entry.value is None:
            problems.append(((*at, "value"), "an env entry needs a value"))
            continue
        if entry.name is None:  # every key of a Secret or ConfigMap
            try:
                whole = envrefs.whole(entry.value)
            except ValueError as error:
                problems.append(((*at, "value"), str(error)))
                continue
            env_from.append({whole.kind: whole.name})
            continue
        try:
            found = envrefs.named(entry.value)
        except ValueError as error:
            problems.append(((*at, "value"), str(error)))
            continue
        if entry.name in first:
            message = f"{entry.name} is given twice (first at run.envs[{first[entry.name]}])"
            problems.append(((*at, "name"), message))
            continue
        name_problem = _name_problem(entry.name)
        if name_problem is not None:
            problems.append(((*at, "name"), name_problem))
            continue
        first[entry.name] = index
        if not isinstance(found, envrefs.LocalEnv):
            env[entry.name] = entry.value if found is None else str(found)
            continue
        try:
            local = found.value(entry.name, environ, unset_env)
        except ValueError as error:
            problems.append(((*at, "value"), str(error)))
            continue
        if local is not None:
            env[entry.name] = local
    return env, env_from


def _name_problem(name: str) -> str | None:
    if name in RESERVED_ENV:
        names = ", ".join(RESERVED_ENV)
        return f'"{name}" is a reserved environment variable (Knative sets {names})'
    if re.match(ENV_NAME, name) is None:
        return f"{name!r} is {PATTERN_MEANINGS[ENV_NAME]}"
    return None


def _contradictions(func: KnativeFunc) -> list[Located]:
    """Fields whose meaning Unkai cannot give, where running anyway would be wrong."""
    found: list[Located] = []
    if func.runtime not in (None, "python"):
        found.append((("runtime",), f"{func.runtime!r}: Unkai runs Python functions only"))
    if func.deployer not in (None, "knative"):
        message = f"{func.deployer!r}: Unkai deploys functions as Knative Services (knative)"
        found.append((("deployer",), message))
    run = func.run or Run()
    if run.volumes:
        message = "volumes are not supported: Unkai's instances are processes with nothing to"
        message += " mount; ship the files with the function"
        found.append((("run", "volumes"), message))
    if run.kafka is not None:
        found.append((("run", "kafka"), "Kafka sources are not supported on Unkai"))
    endpoints = (func.deploy.health_endpoints if func.deploy else None) or HealthEndpoints()
    for probe, path in HEALTH_ENDPOINTS.items():
        given = getattr(endpoints, probe)
        if given not in (None, path):
            message = f"{given!r}: the runtime answers the {probe} probe at {path}, as"
            message += " func-python does; leave it out or set it to that"
            found.append((("deploy", "healthEndpoints", probe), message))
    return found


def _present(document: yamlsource.Document, path: tuple[str, ...]) -> bool:
    """Whether ``path`` is given in the document with a value (not null, nor empty)."""
    node: Any = document.data
    for part in path:
        if not isinstance(node, dict) or node.get(part) is None:
            return False
        node = node[part]
    return node not in ({}, [], "")
