"""What ``unkai deploy`` can tell about a function's code before it uploads anything.

A mistake found on the platform costs an upload, a revision and a wait, and is reported
against the bundle's copy of the code; found here it costs nothing and names the user's
own file and line. The checks read the source and never import it: importing runs the
user's module (its top-level code may connect to databases, read files, start
threads), needs its requirements installed where the CLI runs, and would fail for
reasons that do not hold on the platform. So what is checked is what the source says
plainly:

* the entrypoint's module exists and parses (a ``SyntaxError`` with file, line and text);
* the callable to serve is defined at the module's top level (a ``def``, a ``class``, an
  assignment or an import binding that name); otherwise the error lists the callables
  the module does define and the entrypoint setting to change.

A module whose names cannot be known without running it (``from x import *``, or a
module-level ``__getattr__``) is not refused here; the platform reports it if it fails.
Missing packages are found only by importing, so the platform's load error words them
(the runtime names the package and says to add it to the requirements).
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path

from unkai.api.funcyaml import FuncSpec
from unkai.errors import UserError
from unkai.runtime import loader
from unkai.runtime.loader import CONVENTIONAL_NAMES, DETECTABLE


class FunctionCodeError(UserError):
    """The function's code cannot be served as func.yaml describes it; found before upload."""


@dataclass
class TopLevel:
    """What a module binds at its top level, as far as its source tells."""

    callables: list[str] = field(default_factory=list)
    """Functions and classes it defines, in source order."""
    names: set[str] = field(default_factory=set)
    """Every name it binds (callables included: assignments and imports may be callable)."""
    open: bool = False
    """Whether it may bind names the source does not show (``import *``, ``__getattr__``)."""


def check(directory: Path, spec: FuncSpec) -> None:
    """Refuse, with the user's file and line, code that cannot be served as ``spec`` says."""
    module = loader.module_name(directory, spec)  # as the runtime will find it
    source = module_file(directory, module)
    if source is None:
        expected = module.replace(".", "/")
        raise FunctionCodeError(
            f"{_shown(directory / (expected + '.py'))} does not exist (nor "
            f"{expected}/__init__.py): the entrypoint {spec.entrypoint} names module "
            f"{module}; write it, or set `entrypoint:` in {_shown(directory / 'func.yaml')}"
        )
    defined = top_level(source)
    if defined.open:
        return
    wanted = _wanted(spec)
    if any(name in defined.names for name in wanted):
        return
    setting = (
        f"entrypoint: {spec.entrypoint}"
        if "entrypoint" in spec.model_fields_set
        else f"no entrypoint: set, so one of {', '.join(wanted)} is served"
    )
    listed = ", ".join(defined.callables) if defined.callables else "none"
    raise FunctionCodeError(
        f"{_shown(source)} defines no {' or '.join(wanted)} (func.yaml says {setting}). "
        f"The callables it defines: {listed}. Rename one, or set `entrypoint: "
        f"{module}:NAME` in {_shown(directory / 'func.yaml')}"
    )


def module_file(directory: Path, module: str) -> Path | None:
    """The file of ``module`` in ``directory`` (a ``.py`` or a package's ``__init__``)."""
    base = directory.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def top_level(path: Path) -> TopLevel:
    """What ``path`` binds at its top level; :class:`FunctionCodeError` if it does not parse."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as error:
        where = f"{_shown(path)}, line {error.lineno}" if error.lineno else _shown(path)
        text = f"\n    {error.text.strip()}" if error.text and error.text.strip() else ""
        raise FunctionCodeError(f"{where}: {error.msg}{text}") from None
    except ValueError as error:  # null bytes
        raise FunctionCodeError(f"{_shown(path)}: not Python source ({error})") from None
    found = TopLevel()
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.callables.append(statement.name)
            found.names.add(statement.name)
            found.open |= statement.name == "__getattr__"
            continue
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                found.names.add(node.id)
            elif isinstance(node, ast.alias):
                found.open |= node.name == "*"
                found.names.add((node.asname or node.name).partition(".")[0])
    return found


def _wanted(spec: FuncSpec) -> tuple[str, ...]:
    """The names the runtime would serve, in its order (see ``runtime.loader``)."""
    if "entrypoint" in spec.model_fields_set:
        return (spec.function,)
    if spec.signature is not None:
        return CONVENTIONAL_NAMES[spec.signature]
    return DETECTABLE


def _shown(path: Path) -> str:
    """``path`` as the user would write it: relative to where they are, when it is below."""
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else str(path)
