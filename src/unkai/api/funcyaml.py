"""``func.yaml``: what a function is and how it wants to be run and deployed.

One file describes a function for every place it runs: ``unkai run`` reads the
signature, entrypoint, env and requirements; ``unkai deploy`` maps the ``deploy``
section onto Knative fields and ``autoscaling.knative.dev/*`` annotations. The JSON
Schema published under ``docs/`` is generated from these models
(``python -m unkai.api.funcyaml``), so editors can validate the file as it is typed.
Errors speak the user's language: the field path as written (never pydantic's type
names), the line, and for patterns what is allowed rather than the regex.

The sections' models and field types are in :mod:`.funcyaml_fields`, the reading of
requirements files in :mod:`.funcyaml_requirements`, Knative func's own format in
:mod:`.funcyaml_knative`; this module puts the whole file together and reads it.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import Field

from unkai.api import envrefs, pyproject, yamlsource
from unkai.api.funcyaml_fields import (
    DNS_LABEL,
    ENTRYPOINT,
    ENV_NAME,
    PATTERN_MEANINGS,
    SINK_ENV,
    Deploy,
    EnvName,
    EnvSource,
    EnvValue,
    Model,
    Requirements,
    RuntimeOptions,
    Scale,
    Signature,
    Sink,
    Subscription,
    sink_shorthand,
)
from unkai.api.funcyaml_requirements import (
    REQUIREMENTS_FILE,
    requirement_file_lines,
    requirements_file,
)

__all__ = [
    "DNS_LABEL", "ENTRYPOINT", "ENV_NAME", "FILENAME", "PATTERN_MEANINGS", "REQUIREMENTS_FILE",
    "SINK_ENV", "Deploy", "EnvSource", "FuncSpec", "RuntimeOptions", "Scale", "Signature",
    "Sink", "Subscription", "json_schema", "load", "parse", "pydantic_problems",
    "requirement_file_lines",
]  # fmt: skip

FILENAME = "func.yaml"


class FuncSpec(Model):
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
    sink: Annotated[Sink | None, pydantic.BeforeValidator(sink_shorthand)] = Field(
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
                requirements_file(directory, value)
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
            path = requirements_file(directory, self.requirements)
            lines = [] if path is None else requirement_file_lines(path.read_text())
        except (OSError, ValueError) as error:
            problem = Problem(("requirements",), str(error))
            raise yamlsource.SourceError(str(directory / FILENAME), [problem]) from None
        if "requirements" not in self.model_fields_set:
            lines += pyproject.dependencies(directory)
        return lines


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
