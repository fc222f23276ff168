"""The sections and field types of ``func.yaml``: signature, env names and values,
sizes, scale, deploy, sink and runtime options (:class:`~unkai.api.funcyaml.FuncSpec`
puts them together). Each type checks its own value and words its own error, so that a
problem is reported at the field the user wrote, in their terms.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, WithJsonSchema

from unkai.api import destinations, envrefs
from unkai.api.contract import RESERVED_ENV

DNS_LABEL = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
ENTRYPOINT = r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_SIZE = re.compile(r"^(\d+)\s*(|k|Ki|M|Mi|G|Gi)$")
_SIZE_UNITS = {"": 1, "k": 10**3, "Ki": 2**10, "M": 10**6, "Mi": 2**20, "G": 10**9, "Gi": 2**30}
PATTERN_MEANINGS = {
    DNS_LABEL: "not a DNS label (lowercase letters, digits and '-', starting with a letter,"
    " ending with a letter or digit, at most 63 characters)",
    ENTRYPOINT: "not module:function (a module such as func or app.main, a colon, then the"
    " function's name: func:handle)",
    ENV_NAME: "not an environment variable name (letters, digits and '_', not starting"
    " with a digit)",
}
SINK_ENV = ("K_SINK", "K_CE_OVERRIDES")
"""What ``sink`` sets in the function's environment."""


class Signature(StrEnum):
    """How the runtime calls the function (see docs/runtime.md)."""

    HTTP = "http"
    CLOUDEVENT = "cloudevent"
    ASGI = "asgi"
    EVENT = "event"
    WSGI = "wsgi"
    GRPC = "grpc"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


def parse_size(value: object) -> int:
    """Byte sizes as people write them: ``10485760``, ``10Mi``, ``512k``.

    Takes whatever YAML gave (a float, ``null``, a list…) so that a wrong type is a
    validation error naming the field, not a crash.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"not a size: {value!r} (use bytes, or a suffix k, Ki, M, Mi, G, Gi)")
    return int(match.group(1)) * _SIZE_UNITS[match.group(2)]


ByteSize = Annotated[
    int,
    pydantic.BeforeValidator(parse_size),
    Field(ge=0),
    WithJsonSchema(
        {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": _SIZE.pattern}]}
    ),
]


def _env_value(value: object) -> object:
    """Env values are text; say what ``null`` and collections miss.

    Scalars from func.yaml arrive as written (see ``_env_as_written``); one without
    its own text (merged in with ``<<``) gets YAML's spelling: ``true``, ``8080``.
    """
    if value is None:
        raise ValueError('no value (write "" for an empty one)')
    if isinstance(value, list | dict):
        raise ValueError("expected text, a number or a boolean, not a list or mapping")
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else str(value)


def _env_reference(value: str) -> str:
    """A value that starts as a template must be one of func's (``envrefs``); a Secret or
    ConfigMap key is kept as its template, which the deploy turns into ``valueFrom``."""
    found = envrefs.named(value)
    if isinstance(found, envrefs.LocalEnv):
        raise ValueError(f"{value} is read from the environment when func.yaml is loaded")
    return value if found is None else str(found)


def _env_name(name: str) -> str:
    """Refuse the names Knative sets itself, here rather than when the Service is applied."""
    if name in RESERVED_ENV:
        names = ", ".join(RESERVED_ENV)
        raise ValueError(f'"{name}" is a reserved environment variable (Knative sets {names})')
    return name


EnvName = Annotated[str, Field(pattern=ENV_NAME), pydantic.AfterValidator(_env_name)]
EnvValue = Annotated[
    str,
    pydantic.BeforeValidator(_env_value),
    pydantic.AfterValidator(_env_reference),
    WithJsonSchema({"type": ["string", "number", "boolean"]}),
]
Requirements = Annotated[
    Annotated[str, Tag("file")] | Annotated[list[str], Tag("lines")],
    Discriminator(
        lambda value: {str: "file", list: "lines"}.get(type(value)),
        custom_error_type="requirements_type",
        custom_error_message="expected a requirements file name or a list of requirement lines",
    ),
]


class EnvSource(Model):
    """Every key of a Secret or a ConfigMap as env (the Service's ``envFrom``); Knative
    func's ``{{ secret:NAME }}`` in an entry without a name."""

    secret: str | None = Field(None, pattern=envrefs.SOURCE_NAME, max_length=253)
    config_map: str | None = Field(
        None, alias="configMap", pattern=envrefs.SOURCE_NAME, max_length=253
    )

    @pydantic.model_validator(mode="after")
    def _exactly_one(self) -> EnvSource:
        if (self.secret is None) == (self.config_map is None):
            raise ValueError("name exactly one of secret or configMap")
        return self

    @property
    def ref(self) -> envrefs.SourceRef:
        if self.secret is not None:
            return envrefs.SourceRef("secret", self.secret)
        assert self.config_map is not None
        return envrefs.SourceRef("configMap", self.config_map)


class Scale(Model):
    """Autoscaling bounds and target; become ``autoscaling.knative.dev/*`` annotations."""

    min: int | None = Field(None, ge=0, description="Instances kept even when idle.")
    max: int | None = Field(None, ge=0, description="Upper bound on instances (0: no bound).")
    initial: int | None = Field(None, ge=0, description="Instances started with a revision.")
    target: float | None = Field(None, ge=0.01, description="Per-instance target of the metric.")
    metric: Literal["concurrency", "rps"] | None = None
    utilization: float | None = Field(
        None, ge=1, le=100, description="Percent of the target to aim for."
    )

    @pydantic.model_validator(mode="after")
    def _min_not_above_max(self) -> Scale:
        if self.min is not None and self.max and self.min > self.max:
            raise ValueError(f"min ({self.min}) must not be greater than max ({self.max})")
        return self


class Subscription(Model):
    """A Trigger to create on deploy: events from ``broker`` matching ``filters``."""

    broker: str = Field("default", pattern=DNS_LABEL)
    filters: dict[str, str] = Field(default_factory=dict)


class Deploy(Model):
    """Options used when the function is deployed (locally or on Knative)."""

    namespace: str | None = Field(None, pattern=DNS_LABEL)
    scale: Scale = Field(default_factory=lambda: Scale())
    concurrency: int | None = Field(
        None, ge=0, le=1000, description="containerConcurrency: hard limit per instance."
    )
    timeout: int | None = Field(None, ge=1, le=3600, description="timeoutSeconds per request.")
    annotations: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    subscriptions: list[Subscription] = Field(default_factory=list)


def _sink_destination(text: str) -> str:
    destinations.parse(text)  # a ValueError names the forms allowed
    return text


def sink_shorthand(value: object) -> object:
    return {"to": value} if isinstance(value, str) else value


class Sink(Model):
    """Where the function sends its own events: ``K_SINK`` in its environment (and
    ``K_CE_OVERRIDES`` with ``extensions``), as a Knative SinkBinding sets them.
    ``sink: broker:default`` is short for ``sink: {to: broker:default}``."""

    to: Annotated[str, pydantic.AfterValidator(_sink_destination)] = Field(
        description=f"The sink: {destinations.FORMS}."
    )
    extensions: dict[Annotated[str, Field(pattern=r"^[a-z0-9]+$")], str] = Field(
        default_factory=dict, description="Extension attributes added to every event sent."
    )


class RuntimeOptions(Model):
    """How the function runtime treats requests (all have safe defaults)."""

    max_body_size: ByteSize = Field(10 * 2**20, alias="maxBodySize")
    sync_workers: int | None = Field(
        None,
        ge=1,
        le=1000,
        alias="syncWorkers",
        description=(
            "Opt in to running sync handlers on this many threads at once; by default they"
            " run one at a time on the thread that imported the function."
        ),
    )
    grace_period: float = Field(
        30, ge=0, le=3600, alias="gracePeriod", description="Seconds to finish on SIGTERM."
    )
