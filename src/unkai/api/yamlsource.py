"""YAML documents that remember where each value came from.

Users edit ``func.yaml`` and Knative manifests by hand, so an error has to point at a
line, not only at a field path. :func:`load_documents` parses YAML once and keeps, for
every mapping key and sequence item, the line it stands on and, for scalars, the text as
written; :class:`SourceError` then names both the field path and the line. A key given
twice in one mapping is an error naming both lines, as in ``kubectl``: silently keeping
the last one hides edits that were meant to count.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from unkai.errors import UserError

PathPart = str | int
Path = tuple[PathPart, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document: where (path and line) and what."""

    path: Path
    message: str
    line: int | None = None

    @property
    def field(self) -> str:
        return format_path(self.path)

    def __str__(self) -> str:
        where = self.field or "(document)"
        if self.line is not None:
            where = f"line {self.line}: {where}"
        return f"{where}: {self.message}"


class SourceError(UserError, ValueError):
    """A document failed to parse or validate; carries every problem found."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s)\n{lines}")


@dataclass
class Document:
    """A parsed YAML document plus the line of every path in it (1-based).

    ``texts`` has every scalar as written (``0755``, ``yes``, ``1.10``) for fields whose
    meaning is text whatever type YAML would give the value.
    """

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    start_line: int = 1
    texts: dict[Path, str] = field(default_factory=dict)

    def line_of(self, path: Sequence[PathPart]) -> int | None:
        """Line of the deepest known prefix of ``path``: close enough to find it."""
        parts = tuple(path)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return self.start_line

    def path_of(self, location: Sequence[PathPart], *, missing: bool = False) -> Path:
        """A validator's ``location`` as the path the user wrote.

        Validators put parts of their own in a location (pydantic: a union member's type
        name, ``[key]``). A part is the user's when it is a key or index present in the
        data, or, with ``missing``, the last part: the name of an absent field.
        """
        path: list[PathPart] = []
        node = self.data
        for index, part in enumerate(location):
            if isinstance(node, dict) and part in node:
                path.append(str(part))
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                path.append(part)
                node = node[part]
            elif isinstance(node, dict) and missing and index == len(location) - 1:
                path.append(str(part))
        return tuple(path)


def format_path(path: Sequence[PathPart]) -> str:
    """``("spec", "traffic", 0, "percent")`` -> ``spec.traffic[0].percent``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def parse_path(field: str) -> Path:
    """``spec.traffic[0].percent`` -> ``("spec", "traffic", 0, "percent")``."""
    parts: list[PathPart] = []
    for segment in field.split("."):
        name, _, indexes = segment.partition("[")
        if name:
            parts.append(name)
        for index in filter(None, indexes.replace("]", "").split("[")):
            parts.append(int(index) if index.isdigit() else index)
    return tuple(parts)


def load_documents(text: str, *, source: str) -> list[Document]:
    """Parse every document in ``text``; bad syntax or a duplicate key: :class:`SourceError`."""
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        documents = [_document(node, text) for node in nodes]
    except yaml.MarkedYAMLError as error:  # constructing raises it too (unhashable keys)
        mark = error.problem_mark
        line = mark.line + 1 if mark is not None else None
        message = f"invalid YAML: {error.problem or error}"
        raise SourceError(source, [Problem((), message, line)]) from None
    duplicates = [problem for node in nodes for problem in _duplicates(node)]
    if duplicates:
        raise SourceError(source, duplicates)
    return documents


def load_document(text: str, *, source: str) -> Document:
    """Parse exactly one document (an empty file is an empty mapping)."""
    documents = load_documents(text, source=source)
    if len(documents) > 1:
        line = documents[1].start_line
        raise SourceError(source, [Problem((), "expected one YAML document, found more", line)])
    return documents[0] if documents else Document({}, {}, 1)


def _document(node: yaml.Node, text: str) -> Document:
    data = yaml.SafeLoader(text).construct_document(node)
    document = Document(data, {}, node.start_mark.line + 1)
    for path, line, value in _walk(node, ()):
        document.lines.setdefault(path, line)
        if isinstance(value, yaml.ScalarNode):
            document.texts.setdefault(path, str(value.value))
    return document


def _duplicates(node: yaml.Node) -> Iterator[Problem]:
    """Keys given twice; what is under a repeated key is not reported again."""
    first: dict[Path, int] = {}
    repeated: set[Path] = set()
    for path, line, _ in _walk(node, ()):
        if any(path[:end] in repeated for end in range(1, len(path))):
            continue
        if path in first:
            repeated.add(path)
            yield Problem(path, f"duplicate key (first given on line {first[path]})", line)
        first.setdefault(path, line)


def _walk(node: yaml.Node, path: Path) -> Iterator[tuple[Path, int, yaml.Node]]:
    """Every mapping value and sequence item: its path, its line and its node."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*path, str(key_node.value))
            yield child, key_node.start_mark.line + 1, value_node
            yield from _walk(value_node, child)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            yield child, item.start_mark.line + 1, item
            yield from _walk(item, child)
