"""Functions the ``unkai run`` / ``unkai invoke`` tests write, and the URL ``run`` prints."""

import re
import textwrap
from pathlib import Path

URL = re.compile(r"http://127\.0\.0\.1:\d+")


def write_function(home: Path, name: str, source: str) -> Path:
    """``home/name`` with ``source`` as func.py and a func.yaml that only names it, so
    the runtime detects the signature."""
    directory = home / name
    directory.mkdir()
    (directory / "func.yaml").write_text(f"name: {name}\n")
    (directory / "func.py").write_text(textwrap.dedent(source))
    return directory
