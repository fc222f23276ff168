"""Finding the function: ``func.yaml``, the module, the callable and its signature.

The signature is what ``func.yaml`` says; without ``signature:`` it is detected from
the callable (``detection``), which must be callable the way its signature calls it.

Without ``entrypoint:`` the module is ``func`` (``func.py``), or ``function`` in Knative
func's Python layout (a ``function/`` package and no ``func.py``) and in SeBS's
(``function.py`` with ``handler(event)``), or else ``main`` or ``app`` (``main.py``,
``app.py``, where Cloud Run and Flask apps live), and the callable the
signature's conventional name (``handle``, then ``new`` for cloudevent; ``handler`` for
event; ``new``, ``app``, then ``handle`` for asgi; ``app`` or ``application`` for wsgi);
with no signature either, exactly one of ``new``, ``app``, ``application``, ``handle``,
``handler`` must exist.
A directory without ``func.yaml`` is served with the defaults and a name derived from
the directory. Every problem is a :class:`LoadError` whose text says what to change.

The module is imported under its own name (``func``), as the function's code expects;
a process loading several functions gets each one's own modules (see ``_import``).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import sys
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from unkai.api import funcyaml, yamlsource
from unkai.api.funcyaml import FuncSpec, Signature
from unkai.errors import UserError
from unkai.runtime import detection

CONVENTIONAL_NAMES: Final[Mapping[Signature, tuple[str, ...]]] = {
    Signature.HTTP: ("handle",),
    Signature.CLOUDEVENT: ("handle", "new"),
    Signature.EVENT: ("handler",),
    Signature.ASGI: ("new", "app", "handle"),
    Signature.WSGI: ("app", "application"),
    Signature.GRPC: ("handle",),
}
DETECTABLE: Final = ("new", "app", "application", "handle", "handler")
DEFAULT_MODULE: Final = "func"
KNATIVE_PACKAGE: Final = "function"  # Knative func's Python layout: function/__init__.py
# Where apps written for other platforms keep their code: Cloud Run and Google's
# functions-framework read main.py, Flask's `flask run` app.py.
APP_MODULES: Final = ("main", "app")

# The directories functions were imported from in this process. A process may load
# several (tests do, through ``unkai.testing``), each with its own ``func`` and maybe
# siblings named alike, so before importing one, the modules imported from the others
# are dropped from ``sys.modules`` (the functions loaded keep theirs): each directory
# gets its own modules, under their usual names.
_function_directories: set[str] = set()


class LoadError(UserError):
    """The function directory cannot be served as it is; the text says why."""


@dataclass(frozen=True)
class Target:
    """The user's callable and how to call it."""

    signature: Signature
    obj: Any
    entrypoint: str


def load_spec(directory: Path) -> FuncSpec:
    """``func.yaml`` of ``directory``, or defaults named after the directory."""
    if not directory.is_dir():
        raise LoadError(f"{directory}: not a directory")
    if (directory / funcyaml.FILENAME).exists():
        try:
            # In an instance, the platform has set the env func.yaml takes from the
            # deployer's environment ({{ env:NAME }}, Knative func's format).
            return funcyaml.load(directory, unset_env="inherit")
        except yamlsource.SourceError as error:
            raise LoadError(str(error)) from None
    name = re.sub(r"[^a-z0-9]+", "-", directory.resolve().name.lower()).strip("-")
    if not re.match(funcyaml.DNS_LABEL, name):
        raise LoadError(f"{directory}: no func.yaml, and {name!r} is not a usable name")
    return FuncSpec.model_validate({"name": name})


def module_name(directory: Path, spec: FuncSpec) -> str:
    """The module to import: the entrypoint's; else the first there of ``func``
    (``func.py``), ``function`` (a package: Knative func's layout; ``function.py``:
    SeBS's), ``main`` and ``app`` (``main.py``, ``app.py``: where Cloud Run and Flask apps
    live); ``func`` if none is."""
    if "entrypoint" in spec.model_fields_set:
        return spec.module
    if (directory / f"{DEFAULT_MODULE}.py").is_file():
        return DEFAULT_MODULE
    package = directory / KNATIVE_PACKAGE
    if (package / "__init__.py").is_file() or package.with_suffix(".py").is_file():
        return KNATIVE_PACKAGE
    for module in APP_MODULES:
        if (directory / f"{module}.py").is_file():
            return module
    return DEFAULT_MODULE


def load(directory: Path, spec: FuncSpec) -> Target:
    """Import the function's module from ``directory``; pick its callable and signature."""
    module_path = module_name(directory, spec)
    module = _import(directory, module_path)
    name = _pick(module, module_path, spec)
    obj = getattr(module, name)
    entrypoint = f"{module_path}:{name}"
    signature = spec.signature or detection.detect(name, obj)
    if signature is None:
        raise LoadError(
            f"cannot tell how to call {entrypoint}: name its parameter `request` (http) or"
            " `event` (cloudevent), annotate it, or set `signature:` in func.yaml; the shapes"
            " are " + "; ".join(f"{s}: {detection.shapes(s)}" for s in Signature)
        )
    problem = detection.misfit(signature, obj, name)
    if problem is not None:
        raise LoadError(f"{entrypoint} {problem}")
    return Target(signature, obj, entrypoint)


def forget(directory: Path, names: Iterable[str]) -> None:
    """Drop those of ``names`` that were imported from ``directory`` from ``sys.modules``.

    For callers that load functions one after another in one process (``unkai.testing``),
    so that the next load imports the function afresh, as a new instance would.
    """
    own = os.path.join(directory.resolve(), "")
    for name in names:
        file = getattr(sys.modules.get(name), "__file__", None)
        if file and file.startswith(own):
            del sys.modules[name]


def _pick(module: ModuleType, module_path: str, spec: FuncSpec) -> str:
    """The name of the callable to serve: the entrypoint's, conventional or detected."""
    if "entrypoint" in spec.model_fields_set:
        if not callable(getattr(module, spec.function, None)):
            raise LoadError(
                f"entrypoint {spec.entrypoint}: {spec.module} has no callable {spec.function}"
            )
        return spec.function
    if spec.signature is not None:
        names = CONVENTIONAL_NAMES[spec.signature]
        found = [name for name in names if callable(getattr(module, name, None))]
        if not found:
            raise LoadError(
                f"signature {spec.signature}: {module_path} defines no {' or '.join(names)}"
            )
        return found[0]
    found = [name for name in DETECTABLE if callable(getattr(module, name, None))]
    if not found:
        raise LoadError(
            f"{module_path} defines none of {', '.join(DETECTABLE)}: write handle(request)"
            " or set `entrypoint:` in func.yaml"
        )
    if len(found) > 1:
        raise LoadError(
            f"ambiguous: {module_path} defines {' and '.join(found)}; set `signature:`"
            " (and `entrypoint:`) in func.yaml to say which one to serve"
        )
    return found[0]


def _import(directory: Path, module: str) -> ModuleType:
    """``module`` imported from ``directory``, under its own name.

    The directory goes first on ``sys.path`` so the module can import its siblings; the
    modules of functions imported from other directories are dropped first.
    """
    path = str(directory.resolve())
    _forget_other_functions(path)
    with contextlib.suppress(ValueError):
        sys.path.remove(path)
    sys.path.insert(0, path)
    _function_directories.add(path)
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name == module.partition(".")[0]:
            layout = f"write {module}.py"
            if module == DEFAULT_MODULE:
                layout += f", or a {KNATIVE_PACKAGE}/ package exporting new() (Knative func's)"
                layout += ", or main.py or app.py defining app"
            raise LoadError(f"{directory}: no module {module!r} ({layout})") from None
        missing = (error.name or "").partition(".")[0]
        raise LoadError(
            f"importing {module} failed{_where(error, path)}: no module named {missing!r}; "
            f"add the package that provides it to the function's requirements "
            f"(requirements.txt, or `requirements:` in func.yaml)"
        ) from error
    except SyntaxError as error:
        text = f": {error.text.strip()}" if error.text else ""
        raise LoadError(
            f"importing {module} failed{_where(error, path)}: {error.msg}{text}"
        ) from error
    except Exception as error:
        raise LoadError(f"importing {module} failed{_where(error, path)}: {error!r}") from error


def _where(error: BaseException, directory: str) -> str:
    """`` (func.py, line 3)``: the function's own file and line where ``error`` was raised
    (the last frame in ``directory``; a syntax error's own place), relative to it, so the
    message names the user's file and not the copy the platform runs."""
    own = os.path.join(directory, "")
    places = [(frame.filename, frame.lineno) for frame in traceback.extract_tb(error.__traceback__)]
    if isinstance(error, SyntaxError) and error.filename:
        places.append((error.filename, error.lineno))
    mine = [(file, line) for file, line in places if file.startswith(own)]
    if not mine:
        return ""
    file, line = mine[-1]
    return f" ({file.removeprefix(own)}, line {line})"


def _forget_other_functions(path: str) -> None:
    others = tuple(os.path.join(other, "") for other in _function_directories if other != path)
    if not others:
        return
    own = os.path.join(path, "")
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and file.startswith(others) and not file.startswith(own):
            del sys.modules[name]
