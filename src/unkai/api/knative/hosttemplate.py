"""Knative's host templates (``domain-template``, ``tag-template``): a Go template subset.

``config-network`` spells a Route's host as a Go ``text/template`` over a few values
(``{{.Name}}.{{.Namespace}}.{{.Domain}}``; a tag's label is ``{{.Tag}}-{{.Name}}``).
No maintained Python package renders Go templates, and a host needs only field
references and ``index`` into the Route's annotations or labels, so those are what this
module renders: ``{{.Field}}``, ``{{index .Annotations "key"}}``, ``{{index .Labels
"key"}}``, with Go's ``{{-``/``-}}`` trimming. Any other action (``if``, ``range``,
pipelines) is refused when the ConfigMap is written, with a message saying so, rather
than rendered differently from a cluster.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_FIELD = re.compile(r"\.([A-Za-z_]\w*)")
_INDEX = re.compile(r'index\s+\.(Annotations|Labels)\s+"((?:[^"\\]|\\.)*)"')

DOMAIN_FIELDS = ("Name", "Namespace", "Domain")
TAG_FIELDS = ("Name", "Tag")


@dataclass(frozen=True)
class _Part:
    text: str = ""
    field: str = ""
    index: tuple[str, str] | None = None


@dataclass(frozen=True)
class HostTemplate:
    """A parsed template; :meth:`render` fills it in."""

    name: str
    source: str
    parts: tuple[_Part, ...]

    def render(
        self,
        values: Mapping[str, str],
        *,
        annotations: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> str:
        """The template with ``values`` (and the maps ``index`` reads) filled in; a
        missing map key renders empty, as Go's ``index`` of a missing key does."""
        maps = {"Annotations": annotations or {}, "Labels": labels or {}}
        out: list[str] = []
        for part in self.parts:
            if part.index is not None:
                out.append(maps[part.index[0]].get(part.index[1], ""))
            elif part.field:
                out.append(values[part.field])
            else:
                out.append(part.text)
        return "".join(out)


def parse(name: str, source: str, fields: tuple[str, ...], *, maps: bool) -> HostTemplate:
    """Parse ``source``; ``fields`` are the values it may name, ``maps`` whether
    ``index .Annotations``/``.Labels`` are among them. :class:`ValueError` with a
    message that reads like Go's for anything else."""
    parts: list[_Part] = []
    position = 0
    for match in _ACTION.finditer(source):
        text = source[position : match.start()]
        if match.group(1):
            text = text.rstrip()
        parts.append(_Part(text=text))
        parts.append(_action(name, source, match.group(2).strip(), fields, maps=maps))
        position = match.end()
        if match.group(3):
            rest = source[position:]
            position += len(rest) - len(rest.lstrip())
    tail = source[position:]
    if "{{" in tail:
        raise ValueError(f"template: {name}:1: unclosed action")
    parts.append(_Part(text=tail))
    return HostTemplate(name, source, tuple(part for part in parts if part != _Part()))


def _action(name: str, source: str, body: str, fields: tuple[str, ...], *, maps: bool) -> _Part:
    field = _FIELD.fullmatch(body)
    if field is not None:
        if field.group(1) not in fields:
            allowed = ", ".join(f".{f}" for f in fields)
            raise ValueError(
                f'template: {name}: executing "{name}" at <.{field.group(1)}>: can\'t evaluate'
                f" field {field.group(1)} (the fields are {allowed})"
            )
        return _Part(field=field.group(1))
    index = _INDEX.fullmatch(body)
    if index is not None and maps:
        return _Part(index=(index.group(1), index.group(2).replace('\\"', '"')))
    what = 'and {{index .Annotations "key"}} / {{index .Labels "key"}} ' if maps else ""
    raise ValueError(
        f"template: {name}: {{{{{body}}}}} is not supported by unkai up, which renders"
        f" {{{{.Field}}}} {what}actions only (in {source!r})"
    )
