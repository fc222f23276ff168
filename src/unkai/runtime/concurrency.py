"""Whether an instance serves one request at a time, told from the function's source.

A sync handler runs on the thread that imported it, one call at a time (``importing``),
so each instance serves one request at once. The revision's ``containerConcurrency``
has to say so: Knative's autoscaler aims at a share of it per instance, and with no
limit it would let requests queue inside one busy instance instead of scaling out (as
Lambda scales out one event per instance). ``unkai deploy`` writes it before any
instance has run, and must not import the function to find out (importing runs the
user's code, whose requirements need not be installed where the CLI runs), so the
module is parsed instead: a handler defined at module level with a plain ``def`` is
sync. Anything the source does not say plainly (a handler assigned, imported, or made
by a factory) counts as not one at a time, and func.yaml's ``deploy.concurrency: 1``
is then the user's to write (docs/runtime.md).
"""

from __future__ import annotations

import ast
from pathlib import Path

from unkai.api.funcyaml import FuncSpec, Signature
from unkai.runtime.loader import CONVENTIONAL_NAMES, DETECTABLE

_ASGI_ARITIES = (0, 3)  # detected as asgi: a factory ``new()``, or ``(scope, receive, send)``


def one_at_a_time(directory: Path, spec: FuncSpec) -> bool:
    """Whether instances of the function in ``directory`` serve one request at a time.

    True for a plain ``def`` handler of signature http, cloudevent or event, without
    ``runtime.syncWorkers``; False for async handlers, asgi, opted-in thread pools, and
    whatever the source does not show (including a module that cannot be parsed: the
    runtime reports that one when it loads the function).
    """
    if spec.runtime.sync_workers is not None or spec.signature is Signature.ASGI:
        return False
    names = _top_level(directory, spec.module)
    if "entrypoint" in spec.model_fields_set:
        candidates = [spec.function]
    elif spec.signature is not None:
        candidates = [name for name in CONVENTIONAL_NAMES[spec.signature] if name in names]
    else:
        candidates = [name for name in DETECTABLE if name in names]
    if len(candidates) != 1:
        return False
    handler = names.get(candidates[0])
    if not isinstance(handler, ast.FunctionDef):
        return False
    if spec.signature is None:
        required = len(handler.args.posonlyargs) + len(handler.args.args)
        return required - len(handler.args.defaults) not in _ASGI_ARITIES
    return True


def _top_level(directory: Path, module: str) -> dict[str, ast.stmt | None]:
    """The names ``module`` binds at its top level: the ``def`` for functions, else None."""
    base = directory.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (OSError, SyntaxError, ValueError):
            continue
        names: dict[str, ast.stmt | None] = {}
        for statement in tree.body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names[statement.name] = statement
            else:
                for node in ast.walk(statement):
                    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                        names[node.id] = None
                    elif isinstance(node, ast.alias):
                        names[(node.asname or node.name).partition(".")[0]] = None
        return names
    return {}
