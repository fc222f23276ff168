"""The dependencies a function's ``pyproject.toml`` declares.

Knative func's Python template has no ``requirements.txt``: its dependencies are the
``[project] dependencies`` of ``pyproject.toml``, which func's build installs (it
installs the project with pip). So they are requirements of the function here too,
next to ``requirements.txt``, unless func.yaml names its ``requirements`` itself.
Only the dependencies are installed, not the project: the function runs from its
directory, as every function does.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Final

from unkai.api import yamlsource

FILENAME: Final = "pyproject.toml"
_AT_LINE: Final = re.compile(r"\(at line (\d+), column \d+\)$")


def dependencies(directory: Path) -> list[str]:
    """``[project] dependencies`` of ``directory/pyproject.toml``; none without the file.

    Raises :class:`~unkai.api.yamlsource.SourceError` naming the file (and the line, for
    bad TOML) when it cannot say what to install.
    """
    path = directory / FILENAME
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as error:
        raise yamlsource.SourceError(str(path), [yamlsource.Problem((), str(error))]) from None
    try:
        project: Any = tomllib.loads(text).get("project", {})
    except tomllib.TOMLDecodeError as error:
        line = _AT_LINE.search(str(error))
        problem = yamlsource.Problem(
            (), f"invalid TOML: {error}", int(line.group(1)) if line else None
        )
        raise yamlsource.SourceError(str(path), [problem]) from None
    if not isinstance(project, dict):
        return []
    if "dependencies" in (project.get("dynamic") or []):
        raise yamlsource.SourceError(
            str(path),
            [
                yamlsource.Problem(
                    ("project", "dynamic"),
                    "the dependencies are dynamic (made by the build backend): list them in"
                    " [project] dependencies or in requirements.txt",
                )
            ],
        )
    found = project.get("dependencies", [])
    if not (isinstance(found, list) and all(isinstance(line, str) for line in found)):
        problem = yamlsource.Problem(
            ("project", "dependencies"), "expected a list of requirement strings"
        )
        raise yamlsource.SourceError(str(path), [problem])
    return [line.strip() for line in found if line.strip()]
