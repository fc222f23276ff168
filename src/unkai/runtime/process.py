"""The process entrypoint: ``python -m unkai.runtime DIR [--host H] [--port P]``.

The one place that configures logging and writes ``os.environ`` (the function's
``env`` from ``func.yaml``, see ``environment``), before the function is imported.
``HOST`` and ``PORT`` give the defaults for ``--host``/``--port`` (0.0.0.0 and 8080).
Exit status: 0 after a graceful shutdown, 1 when the function failed to start, 2 when
it could not be loaded (bad ``func.yaml``, no function found, import error).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from unkai.runtime import lifeline, logs
from unkai.runtime.environment import environment
from unkai.runtime.loader import LoadError, load_spec
from unkai.runtime.server import prepare

EXIT_LOAD_FAILED = 2


def main(argv: list[str] | None = None) -> int:
    """Serve the function directory named on the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m unkai.runtime", description="Serve a function directory over HTTP."
    )
    parser.add_argument("directory", type=Path, nargs="?", default=Path("."))
    parser.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=os.environ.get("PORT", "8080"))
    args = parser.parse_args(argv)
    lifeline.bind_to_parent()
    logs.configure()
    try:
        spec = load_spec(args.directory)
        os.environ.update(environment(spec, os.environ))
        prepared = prepare(args.directory, spec=spec, host=args.host, port=args.port)
    except LoadError as error:
        logs.log.error("cannot serve %s: %s", args.directory, error, exc_info=error.__cause__)
        return EXIT_LOAD_FAILED
    return prepared.serve()
