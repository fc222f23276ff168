"""Whether an instance serves one request at a time, told from the function's source.

A sync handler runs on the thread that imported it, one call at a time (``importing``),
so each instance serves one request at once. The revision's ``containerConcurrency``
has to say so: Knative's autoscaler aims at a share of it per instance, and with no
limit it would let requests queue inside one busy instance instead of scaling out (as
Lambda scales out one event per instance). ``unkai deploy`` writes it before any
instance has run, and must not import the function to find out (importing runs the
user's code, whose requirements need not be installed where the CLI runs), so the
module is parsed instead: a handler defined at module level with a plain ``def`` is
sync, and so is a WSGI app (``signature: wsgi``, or an ``app``/``application`` made by
``Flask(...)``, ``falcon.App(...)`` or Django's ``get_wsgi_application()``). Anything
the source does not say plainly (a handler assigned, imported, or made by a factory)
counts as not one at a time, and func.yaml's ``deploy.concurrency: 1`` is then the
user's to write (docs/runtime.md).
"""

from __future__ import annotations

import ast
from pathlib import Path

from unkai.api.funcyaml import FuncSpec, Signature
from unkai.runtime.loader import CONVENTIONAL_NAMES, DETECTABLE, module_name

_ASGI_ARITIES = (0, 3)  # asgi-shaped: a factory ``new()``, or ``(scope, receive, send)``
# Calls that make a WSGI app, by their dotted name as written (an ASGI app is made by
# others: FastAPI(), Starlette(), falcon.asgi.App(), get_asgi_application()).
_WSGI_FACTORIES = frozenset(
    {"Flask", "flask.Flask", "falcon.App", "falcon.API", "get_wsgi_application"}
)


def one_at_a_time(directory: Path, spec: FuncSpec) -> bool:
    """Whether instances of the function in ``directory`` serve one request at a time.

    True for a plain ``def`` handler of signature http, cloudevent or event, without
    ``runtime.syncWorkers``; False for async handlers, asgi, opted-in thread pools, and
    whatever the source does not show (including a module that cannot be parsed: the
    runtime reports that one when it loads the function).
    """
    if spec.runtime.sync_workers is not None or spec.signature is Signature.ASGI:
        return False
    if spec.signature is Signature.WSGI:
        return True
    names = _top_level(directory, module_name(directory, spec))
    if "entrypoint" in spec.model_fields_set:
        candidates = [spec.function]
    elif spec.signature is not None:
        candidates = [name for name in CONVENTIONAL_NAMES[spec.signature] if name in names]
    else:
        candidates = [name for name in DETECTABLE if name in names]
    if len(candidates) != 1:
        return False
    handler = names.get(candidates[0])
    if isinstance(handler, ast.Call):
        return spec.signature is None and ast.unparse(handler.func) in _WSGI_FACTORIES
    if not isinstance(handler, ast.FunctionDef):
        return False
    required = len(handler.args.posonlyargs) + len(handler.args.args)
    return required - len(handler.args.defaults) not in _ASGI_ARITIES


def _top_level(directory: Path, module: str) -> dict[str, ast.AST | None]:
    """The names ``module`` binds at its top level: the ``def`` for functions, the call
    for a name assigned a call's result (``app = Flask(__name__)``), else None."""
    base = directory.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (OSError, SyntaxError, ValueError):
            continue
        names: dict[str, ast.AST | None] = {}
        for statement in tree.body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names[statement.name] = statement
            elif (assigned := _assigned_call(statement)) is not None:
                names[assigned[0]] = assigned[1]
            else:
                for node in ast.walk(statement):
                    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                        names[node.id] = None
                    elif isinstance(node, ast.alias):
                        names[(node.asname or node.name).partition(".")[0]] = None
        return names
    return {}


def _assigned_call(statement: ast.stmt) -> tuple[str, ast.Call] | None:
    """``name = call(...)``, one plain name given the result of a call: the two."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target, value = statement.targets[0], statement.value
        if isinstance(target, ast.Name) and isinstance(value, ast.Call):
            return target.id, value
    return None
