"""``func.yaml``: what a function is and how it wants to be run and deployed.

One file describes a function for every place it runs: ``unkai run`` reads the
signature, entrypoint, env and requirements; ``unkai deploy`` maps the ``deploy``
section onto Knative fields and ``autoscaling.knative.dev/*`` annotations. The JSON
Schema published under ``docs/`` is generated from these models
(``python -m unkai.api.funcyaml``), so editors can validate the file as it is typed.
Errors speak the user's language: the field path as written (never pydantic's type
names), the line, and for patterns what is allowed rather than the regex.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, WithJsonSchema

from unkai.api import destinations, envrefs, pyproject, yamlsource
from unkai.api.contract import RESERVED_ENV

FILENAME = "func.yaml"
REQUIREMENTS_FILE = "requirements.txt"
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
_COMMENT = re.compile(r"(^|\s+)#.*$")  # pip's rule: file:lib#egg=lib keeps its fragment


class Signature(StrEnum):
    """How the runtime calls the function (see docs/runtime.md)."""

    HTTP = "http"
    CLOUDEVENT = "cloudevent"
    ASGI = "asgi"
    EVENT = "event"
    WSGI = "wsgi"
    GRPC = "grpc"


class _Model(BaseModel):
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


class EnvSource(_Model):
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


def _sink_destination(text: str) -> str:
    destinations.parse(text)  # a ValueError names the forms allowed
    return text


def _sink_shorthand(value: object) -> object:
    return {"to": value} if isinstance(value, str) else value


class Sink(_Model):
    """Where the function sends its own events: ``K_SINK`` in its environment (and
    ``K_CE_OVERRIDES`` with ``extensions``), as a Knative SinkBinding sets them.
    ``sink: broker:default`` is short for ``sink: {to: broker:default}``."""

    to: Annotated[str, pydantic.AfterValidator(_sink_destination)] = Field(
        description=f"The sink: {destinations.FORMS}."
    )
    extensions: dict[Annotated[str, Field(pattern=r"^[a-z0-9]+$")], str] = Field(
        default_factory=dict, description="Extension attributes added to every event sent."
    )


class RuntimeOptions(_Model):
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


class FuncSpec(_Model):
    """The whole ``func.yaml``."""

    spec_version: Literal["1"] = Field("1", alias="specVersion")
    name: str = Field(pattern=DNS_LABEL, description="DNS label: the service name.")
    signature: Signature | None = Field(
        None, description="How to call the function; detected from the code when absent."
    )
    entrypoint: str = Field("func:handle", pattern=ENTRYPOINT, description="module:function")
    env: dict[EnvName, EnvValue] = Field(
        default_factory=dict,
        description=(
            "Environment for the function; unquoted numbers and booleans as written."
            " A value may be {{ env:NAME }} (from the environment of whoever deploys),"
            " {{ secret:NAME:KEY }} or {{ configMap:NAME:KEY }} (read where it runs)."
        ),
    )
    env_from: list[EnvSource] = Field(
        default_factory=list,
        alias="envFrom",
        description="Secrets and ConfigMaps whose every key becomes an env variable.",
    )
    requirements: Requirements = Field(
        REQUIREMENTS_FILE,
        description="A requirements file (relative to the function) or a list of specifiers.",
    )
    runtime: RuntimeOptions = Field(default_factory=lambda: RuntimeOptions())
    deploy: Deploy = Field(default_factory=lambda: Deploy())
    sink: Annotated[Sink | None, pydantic.BeforeValidator(_sink_shorthand)] = Field(
        None, description="Where the function's own events go (K_SINK); see docs/eventing.md."
    )
    # Lines for whoever deploys (fields read and not applied); set by the reader of
    # Knative func's format, never read from a file, so not a field.
    _notes: tuple[str, ...] = pydantic.PrivateAttr(default=())

    @pydantic.field_validator("requirements")
    @classmethod
    def _requirements_file_exists(
        cls, value: str | list[str], info: pydantic.ValidationInfo
    ) -> str | list[str]:
        directory = (info.context or {}).get("directory")
        if isinstance(value, str) and directory is not None:
            try:
                _requirements_file(directory, value)
            except OSError as error:  # a name the OS refuses (too long…)
                raise ValueError(f"cannot read {value}: {error.strerror or error}") from None
        return value

    @pydantic.field_validator("sink")
    @classmethod
    def _sink_env_is_the_sink_s(cls, value: Sink | None, info: pydantic.ValidationInfo
                                ) -> Sink | None:  # fmt: skip
        taken = [name for name in SINK_ENV if value and name in info.data.get("env", {})]
        if taken:
            raise ValueError(f"env sets {', '.join(taken)} too: the sink sets it")
        return value

    @property
    def notes(self) -> tuple[str, ...]:
        """What ``unkai deploy`` should tell about this func.yaml (Knative func's format:
        the fields read but not applied)."""
        return self._notes

    @property
    def references(self) -> dict[str, envrefs.KeyRef]:
        """The ``env`` entries read from a Secret or ConfigMap key where the function runs
        (the platform sets them), by name."""
        found = {name: envrefs.named(value) for name, value in self.env.items()}
        return {name: ref for name, ref in found.items() if isinstance(ref, envrefs.KeyRef)}

    @property
    def module(self) -> str:
        return self.entrypoint.partition(":")[0]

    @property
    def function(self) -> str:
        return self.entrypoint.partition(":")[2]

    def requirement_lines(self, directory: Path) -> list[str]:
        """The pip requirement lines, read from the file when one is named.

        Without ``requirements:``, those of ``requirements.txt`` (if present) and the
        ``[project] dependencies`` of ``pyproject.toml`` (if present; Knative func's
        Python template lists them there, see ``unkai.api.pyproject``).

        Raises :class:`~unkai.api.yamlsource.SourceError` when the named file cannot be
        read (it went missing after :func:`load` checked it, or is not readable), or
        ``pyproject.toml`` does not say what to install.
        """
        if isinstance(self.requirements, list):
            return [line.strip() for line in self.requirements if line.strip()]
        try:
            path = _requirements_file(directory, self.requirements)
            lines = [] if path is None else requirement_file_lines(path.read_text())
        except (OSError, ValueError) as error:
            problem = Problem(("requirements",), str(error))
            raise yamlsource.SourceError(str(directory / FILENAME), [problem]) from None
        if "requirements" not in self.model_fields_set:
            lines += pyproject.dependencies(directory)
        return lines


def requirement_file_lines(text: str) -> list[str]:
    """The lines of a pip requirements file as pip reads them.

    ``\\``-continued lines are joined; comments (``#`` at the start or after blanks)
    and blank lines are dropped.
    """
    lines, pending = [], ""
    for raw in text.splitlines():
        line = f"{pending} {raw}" if _COMMENT.match(raw) else pending + raw
        if line.endswith("\\") and not _COMMENT.match(raw):
            pending = line[:-1]
            continue
        lines.append(line)
        pending = ""
    stripped = (_COMMENT.sub("", line).strip() for line in [*lines, pending])
    return [line for line in stripped if line]


def _requirements_file(directory: Path, name: str) -> Path | None:
    """The file ``requirements`` names; ``None`` when the default one is absent.

    The default ``requirements.txt`` is optional (a function may need nothing); any
    other name is a promise that the file exists, so its absence is an error.
    """
    path = directory / name
    if path.is_file():
        return path
    if path.is_dir():
        raise ValueError(f"{name} is a directory, not a requirements file")
    if name == REQUIREMENTS_FILE:
        return None
    raise ValueError(f"requirements file {name} not found in {directory}")


def parse(
    text: str,
    *,
    source: str = FILENAME,
    directory: Path | None = None,
    environ: Mapping[str, str] | None = None,
    unset_env: Literal["refuse", "inherit"] = "refuse",
) -> FuncSpec:
    """Validate ``func.yaml`` text; errors name the field and its line.

    With ``directory`` (where the function lives) the requirements file it names must
    be there, so a typo is reported with the line of ``requirements:``. Knative func's
    own format is read too (``funcyaml_knative``). In either, ``{{ env:NAME }}`` values
    (``envrefs``) come from ``environ`` (none by default), with ``unset_env`` saying what
    an unset one is.
    """
    document = yamlsource.load_document(text, source=source)
    if not isinstance(document.data, dict):
        kind = type(document.data).__name__
        problem = yamlsource.Problem((), f"expected a mapping of fields, got {kind}", 1)
        raise yamlsource.SourceError(source, [problem])
    # Imported here: the reader of func's format builds on this module's models.
    from unkai.api import funcyaml_knative

    if funcyaml_knative.is_knative(document.data):
        return funcyaml_knative.to_spec(
            document, source, environ=environ or {}, unset_env=unset_env
        )
    data = dict(document.data)
    problems: list[Problem] = []
    if isinstance(data.get("env"), dict):
        data["env"] = _env_as_written(document, data["env"])
        data["env"] = _local_values(data["env"], environ or {}, unset_env, document, problems)
    try:
        spec = FuncSpec.model_validate(data, context={"directory": directory})
    except pydantic.ValidationError as error:
        problems += pydantic_problems(error, document)
    if problems:
        raise yamlsource.SourceError(source, problems)
    return spec


def load(directory: Path, *, unset_env: Literal["refuse", "inherit"] = "refuse") -> FuncSpec:
    """Read ``func.yaml`` from a function directory.

    ``{{ env:NAME }}`` (Knative func's template) is read from this process's environment,
    as func reads it where it runs; ``unset_env`` says what an unset NAME is: an error,
    or (``inherit``, in an instance) left to the environment the platform gave.
    """
    path = directory / FILENAME
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise yamlsource.SourceError(
            str(path), [yamlsource.Problem((), "no func.yaml here (create one with `unkai init`)")]
        ) from None
    return parse(
        text, source=str(path), directory=directory, environ=os.environ, unset_env=unset_env
    )


def _local_values(
    env: dict[Any, Any],
    environ: Mapping[str, str],
    unset_env: Literal["refuse", "inherit"],
    document: yamlsource.Document,
    problems: list[Problem],
) -> dict[Any, Any]:
    """``env`` with its ``{{ env:NAME }}`` values taken from ``environ`` (see
    :meth:`envrefs.LocalEnv.value`); entries left to the inherited environment are left
    out, and what cannot be resolved goes to ``problems``."""
    resolved: dict[Any, Any] = {}
    for name, value in env.items():
        try:
            found = envrefs.named(value) if isinstance(value, str) else None
        except ValueError:
            found = None  # malformed: the model's check words it, at its line
        if not isinstance(found, envrefs.LocalEnv):
            resolved[name] = value
            continue
        try:
            local = found.value(str(name), environ, unset_env)
        except ValueError as error:
            path = ("env", str(name))
            problems.append(Problem(path, str(error), document.line_of(path)))
            continue
        if local is not None:
            resolved[name] = local
    return resolved


def _env_as_written(document: yamlsource.Document, env: dict[Any, Any]) -> dict[Any, Any]:
    """``env`` with unquoted scalars as the user wrote them: ``PORT: 8080`` is ``"8080"``.

    Docker Compose users write numbers and booleans unquoted; YAML would turn ``0755``
    into 493 and ``1.10`` into 1.1, so the text is taken as written, not re-rendered.
    ``null`` and collections are left for validation to reject.
    """
    scalars = int | float | datetime.date  # bool is an int
    return {
        key: document.texts.get(("env", str(key)), value) if isinstance(value, scalars) else value
        for key, value in env.items()
    }


def pydantic_problems(
    error: pydantic.ValidationError, document: yamlsource.Document
) -> list[Problem]:
    """pydantic's errors as the user's field paths, lines and words."""
    problems = []
    for item in error.errors(include_url=False):
        path = document.path_of(item["loc"], missing=item["type"] == "missing")
        message = item["msg"]
        if item["type"] == "value_error":
            message = str(item["ctx"]["error"])
        if item["type"] == "string_pattern_mismatch":
            meaning = PATTERN_MEANINGS.get(item["ctx"]["pattern"])
            message = f"{item['input']!r} is {meaning}" if meaning else message
        if "[key]" in item["loc"]:
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
