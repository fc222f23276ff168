"""``func.yaml``: what a function is and how it wants to be run and deployed.

One file describes a function for every place it runs: ``unkai run`` reads the
signature, entrypoint, env and requirements; ``unkai deploy`` and ``unkai build`` map
the ``deploy`` section onto Knative fields and ``autoscaling.knative.dev/*``
annotations. The JSON Schema published under ``docs/`` is generated from these models
(``python -m unkai.api.funcyaml``), so editors can validate the file as it is typed.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from unkai.api import yamlsource

FILENAME = "func.yaml"
DNS_LABEL = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
ENTRYPOINT = r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_SIZE = re.compile(r"^(\d+)\s*(|k|Ki|M|Mi|G|Gi)$")
_SIZE_UNITS = {"": 1, "k": 10**3, "Ki": 2**10, "M": 10**6, "Mi": 2**20, "G": 10**9, "Gi": 2**30}


class Signature(StrEnum):
    """How the runtime calls the function (see docs/runtime.md)."""

    HTTP = "http"
    CLOUDEVENT = "cloudevent"
    ASGI = "asgi"
    EVENT = "event"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


def parse_size(value: int | str) -> int:
    """Byte sizes as people write them: ``10485760``, ``10Mi``, ``512k``."""
    if isinstance(value, int):
        return value
    match = _SIZE.match(value.strip())
    if match is None:
        raise ValueError(f"not a size: {value!r} (use bytes, or a suffix k, Ki, M, Mi, G, Gi)")
    return int(match.group(1)) * _SIZE_UNITS[match.group(2)]


ByteSize = Annotated[int, pydantic.BeforeValidator(parse_size), Field(ge=0)]


class Scale(_Model):
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


class Subscription(_Model):
    """A Trigger to create on deploy: events from ``broker`` matching ``filters``."""

    broker: str = Field("default", pattern=DNS_LABEL)
    filters: dict[str, str] = Field(default_factory=dict)


class Deploy(_Model):
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


class RuntimeOptions(_Model):
    """How the function runtime treats requests (all have safe defaults)."""

    max_body_size: ByteSize = Field(10 * 2**20, alias="maxBodySize")
    sync_workers: int = Field(
        40, ge=1, le=1000, alias="syncWorkers", description="Threads for sync handlers."
    )
    grace_period: float = Field(
        30, ge=0, le=3600, alias="gracePeriod", description="Seconds to finish on SIGTERM."
    )


class FuncSpec(_Model):
    """The whole ``func.yaml``."""

    spec_version: Literal["1"] = Field("1", alias="specVersion")
    name: str = Field(pattern=DNS_LABEL, description="DNS label: the service name.")
    signature: Signature | None = Field(
        None, description="How to call the function; detected from the code when absent."
    )
    entrypoint: str = Field("func:handle", pattern=ENTRYPOINT, description="module:function")
    env: dict[Annotated[str, Field(pattern=ENV_NAME)], str] = Field(default_factory=dict)
    requirements: str | list[str] = Field(
        "requirements.txt",
        description="A requirements file (relative to the function) or a list of specifiers.",
    )
    runtime: RuntimeOptions = Field(default_factory=lambda: RuntimeOptions())
    deploy: Deploy = Field(default_factory=lambda: Deploy())

    @property
    def module(self) -> str:
        return self.entrypoint.partition(":")[0]

    @property
    def function(self) -> str:
        return self.entrypoint.partition(":")[2]

    def requirement_lines(self, directory: Path) -> list[str]:
        """The pip requirement lines, read from the file when one is named."""
        if isinstance(self.requirements, list):
            return [line.strip() for line in self.requirements if line.strip()]
        path = directory / self.requirements
        if not path.exists():
            return []
        lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
        return [line for line in lines if line]


def parse(text: str, *, source: str = FILENAME) -> FuncSpec:
    """Validate ``func.yaml`` text; errors name the field and its line."""
    document = yamlsource.load_document(text, source=source)
    if not isinstance(document.data, dict):
        kind = type(document.data).__name__
        problem = yamlsource.Problem((), f"expected a mapping of fields, got {kind}", 1)
        raise yamlsource.SourceError(source, [problem])
    try:
        return FuncSpec.model_validate(document.data)
    except pydantic.ValidationError as error:
        raise yamlsource.SourceError(source, _problems(error, document)) from None


def load(directory: Path) -> FuncSpec:
    """Read ``func.yaml`` from a function directory."""
    path = directory / FILENAME
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise yamlsource.SourceError(
            str(path), [yamlsource.Problem((), "no func.yaml here (create one with `unkai init`)")]
        ) from None
    return parse(text, source=str(path))


def _problems(error: pydantic.ValidationError, document: yamlsource.Document) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = item["loc"]
        path = tuple(part for part in loc if isinstance(part, str | int) and part != "[key]")
        message = item["msg"]
        if "[key]" in loc:
            message = f"invalid name: {message}"
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        problems.append(Problem(path, message, document.line_of(path)))
    return problems


Problem = yamlsource.Problem


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of ``func.yaml`` (by alias, as users write it)."""
    schema = FuncSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Unkai func.yaml"
    return schema


if __name__ == "__main__":
    print(json.dumps(json_schema(), indent=2))
