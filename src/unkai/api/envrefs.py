"""Environment values func.yaml takes from elsewhere: Knative func's templates.

Knative func (``pkg/functions/function_envs.go``, ``pkg/k8s/deployer.go``) lets an env
entry's value be a template instead of text, and Unkai reads the same syntax in both
func.yaml formats:

* ``{{ env:NAME }}``: NAME's value in the environment of whoever deploys (or runs) the
  function, copied into the Service as text;
* ``{{ secret:NAME:KEY }}``, ``{{ configMap:NAME:KEY }}``: KEY of that Secret or
  ConfigMap, read where the function runs: the Service gets ``valueFrom``
  (``secretKeyRef``/``configMapKeyRef``), so the value never passes through func.yaml,
  the bundle or the deployer's machine;
* ``{{ secret:NAME }}``, ``{{ configMap:NAME }}`` (an entry without a name, Knative's
  format; ``envFrom`` in Unkai's): every key of it, as the Service's ``envFrom``.

Anything else that starts with ``{{`` is refused with the forms allowed, as func does,
rather than passed on as text the user did not mean. The names must be what Kubernetes
accepts (a DNS subdomain; a key of letters, digits, ``-``, ``_`` and ``.``), so a typo is
reported at its line before anything is uploaded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

SourceKind = Literal["secret", "configMap"]
TemplateKind = Literal["env", "secret", "configMap"]
_KINDS: Final[dict[str, TemplateKind]] = {
    "env": "env",
    "secret": "secret",
    "configMap": "configMap",
}
SOURCE_NAME: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_KEY: Final = re.compile(r"^[-._a-zA-Z0-9]+$")
_TEMPLATE: Final = re.compile(r"^\{\{\s*([A-Za-z]+)\s*:([^{}]*)\}\}$")
_VARIABLE: Final = re.compile(r"^\w+$")
NAMED_FORMS: Final = "{{ env:NAME }}, {{ secret:NAME:KEY }} or {{ configMap:NAME:KEY }}"
WHOLE_FORMS: Final = "{{ secret:NAME }} or {{ configMap:NAME }}"


@dataclass(frozen=True)
class LocalEnv:
    """``{{ env:NAME }}``: from the environment of whoever deploys or runs."""

    variable: str

    def __str__(self) -> str:
        return f"{{{{ env:{self.variable} }}}}"

    def value(
        self, name: str, environ: Mapping[str, str], unset_env: Literal["refuse", "inherit"]
    ) -> str | None:
        """The value of the entry ``name``; ``None`` when it is left to the inherited
        environment. An instance (``inherit``) keeps what the platform set for ``name``
        from the Service as deployed; elsewhere an unset variable is an error
        (``ValueError``), as with func."""
        if unset_env == "inherit" and name in environ:
            return None
        if self.variable in environ:
            return environ[self.variable]
        if unset_env == "inherit":
            return None
        raise ValueError(
            f"required local environment variable {self.variable!r} is not set ({self} takes"
            " it from the environment of whoever deploys)"
        )


@dataclass(frozen=True)
class KeyRef:
    """``{{ secret:NAME:KEY }}`` / ``{{ configMap:NAME:KEY }}``: one key, where it runs."""

    kind: SourceKind
    name: str
    key: str

    def __str__(self) -> str:
        return f"{{{{ {self.kind}:{self.name}:{self.key} }}}}"

    def value_from(self) -> dict[str, dict[str, str]]:
        """The ``valueFrom`` of a Kubernetes env entry."""
        return {f"{self.kind}KeyRef": {"name": self.name, "key": self.key}}


@dataclass(frozen=True)
class SourceRef:
    """``{{ secret:NAME }}`` / ``{{ configMap:NAME }}``: every key of it."""

    kind: SourceKind
    name: str

    def env_from(self) -> dict[str, dict[str, str]]:
        """An ``envFrom`` entry of a Kubernetes container."""
        return {f"{self.kind}Ref": {"name": self.name}}


def named(value: str) -> LocalEnv | KeyRef | None:
    """What a named entry's ``value`` takes its value from; ``None`` for plain text.
    ``ValueError`` (its text for the user) when it starts as a template and is not one."""
    if not value.lstrip().startswith("{{"):
        return None
    kind, parts = _split(value, NAMED_FORMS)
    if kind == "env":
        if len(parts) != 1 or not _VARIABLE.match(parts[0]):
            raise ValueError(f"{value!r} is not {{{{ env:NAME }}}} (NAME: letters, digits, _)")
        return LocalEnv(parts[0])
    if len(parts) != 2:
        raise ValueError(
            f"{value!r} names no key: write {{{{ {kind}:NAME:KEY }}}} for one key; every key"
            f" of it is {{{{ {kind}:NAME }}}} in an entry without a name"
        )
    return KeyRef(kind, _source_name(parts[0], value), _key(parts[1], value))


def whole(value: str) -> SourceRef:
    """An entry without a name: every key of a Secret or ConfigMap (``ValueError`` if it
    is anything else)."""
    kind, parts = _split(value, WHOLE_FORMS)
    if kind == "env" or len(parts) != 1:
        raise ValueError(f"an entry without a name must be {WHOLE_FORMS}, not {value!r}")
    return SourceRef(kind, _source_name(parts[0], value))


def _split(value: str, forms: str) -> tuple[TemplateKind, list[str]]:
    match = _TEMPLATE.match(value.strip())
    kind = _KINDS.get(match.group(1)) if match else None
    if match is None or kind is None:
        raise ValueError(f"unsupported template {value!r}: use {forms}")
    parts = [part.strip() for part in match.group(2).split(":")]
    if not all(parts):
        raise ValueError(f"{value!r} has an empty part: use {forms}")
    return kind, parts


def _source_name(name: str, value: str) -> str:
    if not re.match(SOURCE_NAME, name) or len(name) > 253:
        raise ValueError(
            f"{name!r} in {value!r} is not a Secret or ConfigMap name (lowercase letters,"
            " digits, '-' and '.', starting and ending with a letter or digit)"
        )
    return name


def _key(key: str, value: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"{key!r} in {value!r} is not a key (letters, digits, '-', '_', '.')")
    return key
