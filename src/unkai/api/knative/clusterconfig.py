"""Knative's cluster settings: the ConfigMaps in namespace ``knative-serving``, as values.

On a cluster, operators tune Knative by editing ``config-network``, ``config-autoscaler``,
``config-defaults``, ``config-features`` and ``config-gc``; Knative's webhook refuses a
bad value with its message, and the controllers pick a good one up at once. ``unkai up``
reads the same ConfigMaps the same way: :func:`validate` is the ConfigMap admission hook
(problems at ``data.<key>``, worded as Knative's parsers word them), and :func:`read`
turns what is stored into a :class:`ClusterConfig` for the platform to hand to its parts.

What each map does here (docs/knative-compat.md has the table):

* ``config-network``: ``domain-template``, ``tag-template`` and ``rollout-duration`` are
  honoured. TLS and HTTP-protocol settings other than Knative's defaults are refused
  (the gateway serves plain HTTP); ingress and certificate classes name cluster
  components and change nothing on one machine.
* ``config-autoscaler`` (:mod:`.autoscalerconfig`): every KPA setting is honoured; an
  HPA class and a changed ``activator-capacity`` are refused.
* ``config-defaults``: the revision timeout and concurrency defaults and limits are
  honoured by admission (through :data:`ADMISSION_DEFAULTS`).
* ``config-features``: ``tag-header-based-routing`` is honoured (by the gateway); any
  other flag is validated and may only say what ``unkai up`` does.
* ``config-deployment``: ``registries-skipping-tag-resolving`` and
  ``digest-resolution-timeout`` are honoured when revisions' tags are resolved to
  digests; its other keys describe Knative's queue-proxy and Deployments, which
  ``unkai up`` does not have.
* ``config-gc``: honoured by the revision garbage collector
  (:mod:`unkai.platform.controllers.revisiongc`), with Knative's defaults and checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from unkai.api.knative import hosttemplate
from unkai.api.knative.autoscalerconfig import AutoscalerOverrides, autoscaler
from unkai.api.knative.configmaps import Reader, go_int, lower, seconds
from unkai.api.yamlsource import Problem

NAMESPACE = "knative-serving"
NETWORK = "config-network"
AUTOSCALER = "config-autoscaler"
DEFAULTS = "config-defaults"
FEATURES = "config-features"
GC = "config-gc"
DEPLOYMENT = "config-deployment"

DEFAULT_DOMAIN_TEMPLATE = "{{.Name}}.{{.Namespace}}.{{.Domain}}"
DEFAULT_TAG_TEMPLATE = "{{.Tag}}-{{.Name}}"
EXAMPLE_KEY = "_example"
"""Knative's shipped ConfigMaps document themselves under this key; it is never read."""


def _domain_template(source: str) -> hosttemplate.HostTemplate:
    return hosttemplate.parse("domain-template", source, hosttemplate.DOMAIN_FIELDS, maps=True)


def _tag_template(source: str) -> hosttemplate.HostTemplate:
    return hosttemplate.parse("tag-template", source, hosttemplate.TAG_FIELDS, maps=False)


@dataclass(frozen=True)
class NetworkConfig:
    """``config-network`` as far as routes are concerned."""

    domain_template: hosttemplate.HostTemplate = field(
        default_factory=lambda: _domain_template(DEFAULT_DOMAIN_TEMPLATE)
    )
    tag_template: hosttemplate.HostTemplate = field(
        default_factory=lambda: _tag_template(DEFAULT_TAG_TEMPLATE)
    )
    rollout_duration: int = 0
    """Seconds a new latest revision takes to get all of its configuration's traffic
    (0: at once), unless the Route says otherwise in its annotation."""


@dataclass(frozen=True)
class DefaultsConfig:
    """``config-defaults``: what admission fills in and the bounds it checks against."""

    revision_timeout_seconds: int = 300
    max_revision_timeout_seconds: int = 600
    container_concurrency: int = 0
    container_concurrency_max_limit: int = 1000


ADMISSION_DEFAULTS: ContextVar[DefaultsConfig] = ContextVar(
    "unkai_admission_defaults",
    default=DefaultsConfig(),  # noqa: B039 (frozen: shared safely)
)
"""The ``config-defaults`` in force for the admission being run: as Knative's webhook
reads its config from the request's context, the API server's admission sets this
around each call (:func:`admitting`) and the defaulters and validators of
:mod:`.revision` read it; outside admission it holds Knative's defaults."""


@dataclass(frozen=True)
class FeaturesConfig:
    """The switchable part of ``config-features``."""

    tag_header_routing: bool = False


@dataclass(frozen=True)
class GcConfig:
    """``config-gc``: when a configuration's revisions that serve no traffic are deleted.
    ``None`` is Knative's ``disabled``; times are in seconds."""

    retain_since_create_time: float | None = 48 * 3600.0
    retain_since_last_active_time: float | None = 15 * 3600.0
    min_non_active_revisions: int = 20
    max_non_active_revisions: int | None = 1000


@dataclass(frozen=True)
class DeploymentConfig:
    """``config-deployment``: which registries' tags are not resolved to digests, and how
    long resolving one may take (seconds)."""

    registries_skipping_tag_resolving: frozenset[str] = frozenset(
        {"kind.local", "ko.local", "dev.local"}
    )
    digest_resolution_timeout: float = 10.0


@dataclass(frozen=True)
class ClusterConfig:
    """Everything the platform's parts take from the ``knative-serving`` ConfigMaps."""

    network: NetworkConfig = field(default_factory=NetworkConfig)
    autoscaler: AutoscalerOverrides = field(default_factory=dict)
    defaults: DefaultsConfig = field(default_factory=DefaultsConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    gc: GcConfig = field(default_factory=GcConfig)
    deployment: DeploymentConfig = field(default_factory=DeploymentConfig)


# -- config-network -----------------------------------------------------------------------

_NETWORK_FIXED = {
    "external-domain-tls": ("disabled", "the gateway serves plain HTTP"),
    "auto-tls": ("disabled", "the gateway serves plain HTTP"),
    "cluster-local-domain-tls": ("disabled", "the gateway serves plain HTTP"),
    "system-internal-tls": ("disabled", "the platform's parts talk in one process"),
    "http-protocol": ("enabled", "the gateway serves plain HTTP only"),
}


def network(data: Mapping[str, str]) -> tuple[NetworkConfig, list[Problem]]:
    reader = Reader(data)
    result = NetworkConfig()
    domain = reader.value("domain-template", _checked_domain_template, "domainTemplate")
    tag = reader.value("tag-template", _checked_tag_template, "tagTemplate")
    duration = reader.value("rollout-duration", go_int, "rolloutDuration")
    if duration is not None and duration < 0:
        message = f"rollout-duration must be a positive integer, but was {duration}"
        reader.bad("rollout-duration", message)
        duration = None
    for key, (allowed, why) in _NETWORK_FIXED.items():
        reader.fixed(key, allowed, why, same=lower)
    return NetworkConfig(
        domain_template=domain or result.domain_template,
        tag_template=tag or result.tag_template,
        rollout_duration=duration or 0,
    ), reader.problems


def _checked_domain_template(source: str) -> hosttemplate.HostTemplate:
    """Knative's check: a test rendering must be a bare host (no path, not empty)."""
    template = _domain_template(source)
    host = template.render({"Name": "foo", "Namespace": "bar", "Domain": "baz.com"})
    if not host:
        raise ValueError("empty hostname")
    if "/" in host or "?" in host or "#" in host:
        path = host[min(i for i in (host.find(c) for c in "/?#") if i >= 0) :]
        raise ValueError(f"domain template has url path: {path}")
    return template


def _checked_tag_template(source: str) -> hosttemplate.HostTemplate:
    template = _tag_template(source)
    template.render({"Name": "foo", "Tag": "v2"})
    return template


# -- config-defaults, config-features -------------------------------------------

_DEFAULTS_KEYS = (
    "revision-timeout-seconds",
    "max-revision-timeout-seconds",
    "container-concurrency",
    "container-concurrency-max-limit",
)
MAX_INT32 = 2**31 - 1
_DEFAULTS_FIXED = {  # keys admission does not read yet, and the only value it takes
    "container-name-template": "user-container",
    "allow-container-concurrency-zero": "true",
    "enable-service-links": "false",
    **dict.fromkeys(
        (
            "revision-response-start-timeout-seconds", "revision-idle-timeout-seconds",
            "init-container-name-template", "revision-cpu-request", "revision-memory-request",
            "revision-ephemeral-storage-request", "revision-cpu-limit", "revision-memory-limit",
            "revision-ephemeral-storage-limit",
        ),
        "",
    ),
}  # fmt: skip
_DEFAULTS_WHY = "unkai up's admission applies Knative's default here and cannot change it yet"

FEATURES_HERE = {
    "multi-container": "disabled",
    "kubernetes.podspec-fieldref": "enabled",
    "kubernetes.podspec-emptydir": "enabled",
    "kubernetes.podspec-affinity": "disabled",
    "kubernetes.podspec-hostaliases": "disabled",
    "kubernetes.podspec-nodeselector": "disabled",
    "kubernetes.podspec-runtimeclassname": "disabled",
    "kubernetes.podspec-securitycontext": "disabled",
    "kubernetes.podspec-tolerations": "disabled",
    "kubernetes.podspec-volumes-emptydir": "enabled",
    "kubernetes.podspec-persistent-volume-claim": "disabled",
    "kubernetes.podspec-hostpath": "disabled",
    "kubernetes.podspec-init-containers": "disabled",
    "kubernetes.podspec-dnspolicy": "disabled",
    "kubernetes.podspec-dnsconfig": "disabled",
    "kubernetes.podspec-priorityclassname": "disabled",
    "kubernetes.podspec-schedulername": "disabled",
    "kubernetes.podspec-shareprocessnamespace": "disabled",
    "kubernetes.podspec-topologyspreadconstraints": "disabled",
    "kubernetes.containerspec-addcapabilities": "disabled",
    "autodetect-http2": "disabled",
}
TAG_HEADER_ROUTING = "tag-header-based-routing"
"""The one feature flag ``unkai up`` lets a user switch (the gateway routes by the
``Knative-Serving-Tag`` header when it is enabled)."""
"""What ``unkai up`` does for each Knative feature flag (Knative's default where the
platform can do it). A ConfigMap may restate these, not change them."""
_FEATURE_VALUES = ("enabled", "disabled", "allowed")


def defaults(data: Mapping[str, str]) -> tuple[DefaultsConfig, list[Problem]]:
    """The defaults the map gives, checked as Knative's ``NewDefaultsConfigFromMap``."""
    reader = Reader(data)
    given = {key: reader.value(key, go_int) for key in _DEFAULTS_KEYS}
    result = DefaultsConfig(
        **{key.replace("-", "_"): value for key, value in given.items() if value is not None}
    )
    timeout, ceiling = result.revision_timeout_seconds, result.max_revision_timeout_seconds
    concurrency, limit = result.container_concurrency, result.container_concurrency_max_limit
    rules = [
        ("revision-timeout-seconds", timeout < 1, f"expected 1 <= {timeout} <= {MAX_INT32}"),
        ("max-revision-timeout-seconds", timeout > ceiling,
         f"revision-timeout-seconds ({timeout}) cannot be greater than"
         f" max-revision-timeout-seconds ({ceiling})"),
        ("container-concurrency-max-limit", limit < 1, f"expected 1 <= {limit} <= {MAX_INT32}"),
        ("container-concurrency", not 0 <= concurrency <= limit,
         f"expected 0 <= {concurrency} <= {limit}"),
    ]  # fmt: skip
    if not reader.problems:
        for key, broken, message in rules:
            if broken:
                reader.bad(key, message)
    for key, allowed in _DEFAULTS_FIXED.items():
        reader.fixed(key, allowed, _DEFAULTS_WHY, same=lower)
    return result, reader.problems


def features(data: Mapping[str, str]) -> tuple[FeaturesConfig, list[Problem]]:
    reader = Reader(data)
    for key, text in data.items():
        if key == EXAMPLE_KEY:
            continue
        if lower(text) not in _FEATURE_VALUES:
            reader.bad(key, f'failed to parse "{key}": unsupported value "{text}"')
        elif key in FEATURES_HERE:
            why = f"unkai up runs with {key} {FEATURES_HERE[key]}"
            reader.fixed(key, FEATURES_HERE[key], why, same=lower)
    header = lower(data.get(TAG_HEADER_ROUTING, "disabled")) == "enabled"
    return FeaturesConfig(tag_header_routing=header), reader.problems


DISABLED = "disabled"


def gc(data: Mapping[str, str]) -> tuple[GcConfig, list[Problem]]:
    """``config-gc`` checked as Knative's ``NewConfigFromConfigMapFunc``: times are Go
    durations, ``max-non-active-revisions`` a count, each maybe ``disabled``."""
    reader = Reader(data)
    result = GcConfig()
    create = _disabled_or(reader, "retain-since-create-time", _duration)
    active = _disabled_or(reader, "retain-since-last-active-time", _duration)
    most = _disabled_or(reader, "max-non-active-revisions", _count)
    least = reader.value("min-non-active-revisions", go_int)
    config = GcConfig(
        retain_since_create_time=result.retain_since_create_time if create is ... else create,
        retain_since_last_active_time=(
            result.retain_since_last_active_time if active is ... else active
        ),
        min_non_active_revisions=result.min_non_active_revisions if least is None else least,
        max_non_active_revisions=result.max_non_active_revisions if most is ... else most,
    )
    least, most = config.min_non_active_revisions, config.max_non_active_revisions
    if least < 0:
        reader.bad("min-non-active-revisions",
                   f"min-non-active-revisions must be non-negative, was: {least}")  # fmt: skip
    elif most is not None and least > most:
        message = f"min-non-active-revisions({least}) must be <= max-non-active-revisions({most})"
        reader.bad("min-non-active-revisions", message)
    return config, reader.problems


def _disabled_or(reader: Reader, key: str, parse: Callable[[str], Any]) -> Any:
    """The value at ``key``: ``None`` for ``disabled``, ``...`` when absent or bad."""
    found = reader.raw(key)
    if found is None or found[1] == "":
        return ...
    if lower(found[1]) == DISABLED:
        return None
    try:
        return parse(found[1])
    except ValueError as error:
        reader.bad(key, f"failed to parse {key}: {error}")
        return ...


def _duration(text: str) -> float:
    value = seconds(text)
    if value < 0:
        raise ValueError("must be non-negative")
    return value


def _count(text: str) -> int:
    if not text.isdigit():  # Go's ParseUint: digits only, no sign
        raise ValueError(f'strconv.ParseUint: parsing "{text}": invalid syntax')
    return int(text)


def deployment(data: Mapping[str, str]) -> tuple[DeploymentConfig, list[Problem]]:
    """The keys of ``config-deployment`` that apply here, checked as Knative's
    ``NewConfigFromMap``."""
    reader = Reader(data)
    result = DeploymentConfig()
    skipping = reader.raw("registries-skipping-tag-resolving")
    registries = result.registries_skipping_tag_resolving
    if skipping is not None:
        registries = frozenset(part.strip() for part in skipping[1].split(",") if part.strip())
    timeout = reader.value("digest-resolution-timeout", seconds)
    if timeout is not None and timeout <= 0:
        was = data["digest-resolution-timeout"]
        message = f"digest-resolution-timeout cannot be a non-positive duration, was {was}"
        reader.bad("digest-resolution-timeout", message)
        timeout = None
    if timeout is None:
        timeout = result.digest_resolution_timeout
    return DeploymentConfig(registries, timeout), reader.problems


# -- the admission hook and the platform's view --------------------------------------------

_CHECKS: dict[str, Callable[[Mapping[str, str]], list[Problem]]] = {
    NETWORK: lambda data: network(data)[1],
    AUTOSCALER: lambda data: autoscaler(data)[1],
    DEFAULTS: lambda data: defaults(data)[1],
    FEATURES: lambda data: features(data)[1],
    GC: lambda data: gc(data)[1],
    DEPLOYMENT: lambda data: deployment(data)[1],
}
NAMES = tuple(_CHECKS)


def validate(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Problem]:
    """The ConfigMap admission hook: Knative's settings maps are checked, others pass."""
    metadata = obj.get("metadata") or {}
    check = _CHECKS.get(metadata.get("name", ""))
    if metadata.get("namespace") != NAMESPACE or check is None:
        return []
    data = obj.get("data") or {}
    return check({k: v for k, v in data.items() if k != EXAMPLE_KEY})


def read(maps: Mapping[str, Mapping[str, str]]) -> tuple[ClusterConfig, list[Problem]]:
    """The settings from the stored maps (by name); a map with a problem counts as
    absent (Knative's defaults), and its problems (at ``<map>.data.<key>``) are
    returned for the log."""
    problems: list[Problem] = []
    net, found = network(maps.get(NETWORK, {}))
    if found:
        problems += [Problem((NETWORK, *p.path), p.message) for p in found]
        net = NetworkConfig()
    scaling, found = autoscaler(maps.get(AUTOSCALER, {}))
    if found:
        problems += [Problem((AUTOSCALER, *p.path), p.message) for p in found]
        scaling = {}
    admission, found = defaults(maps.get(DEFAULTS, {}))
    if found:
        problems += [Problem((DEFAULTS, *p.path), p.message) for p in found]
        admission = DefaultsConfig()
    flags, found = features(maps.get(FEATURES, {}))
    if found:
        problems += [Problem((FEATURES, *p.path), p.message) for p in found]
        flags = FeaturesConfig()
    collecting, found = gc(maps.get(GC, {}))
    if found:
        problems += [Problem((GC, *p.path), p.message) for p in found]
        collecting = GcConfig()
    pinning, found = deployment(maps.get(DEPLOYMENT, {}))
    if found:
        problems += [Problem((DEPLOYMENT, *p.path), p.message) for p in found]
        pinning = DeploymentConfig()
    return ClusterConfig(net, scaling, admission, flags, collecting, pinning), problems


def admitting(
    hook: Callable[..., Any], settings: Callable[[], DefaultsConfig]
) -> Callable[..., Any]:
    """``hook`` (a defaulter or validator) run with ``settings()`` as
    :data:`ADMISSION_DEFAULTS`."""

    def run(*args: Any) -> Any:
        token = ADMISSION_DEFAULTS.set(settings())
        try:
            return hook(*args)
        finally:
            ADMISSION_DEFAULTS.reset(token)

    return run
