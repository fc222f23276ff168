"""Tiny wheels and local projects made on the spot: requirement installs without a network.

:func:`make_wheel` writes a wheel for a package index (``PIP_FIND_LINKS``);
:func:`make_project` writes a source directory that pip builds offline (its build
backend ships inside it and needs nothing installed), as a function's ``./mylib``.
"""

import base64
import hashlib
import zipfile
from collections.abc import Sequence
from pathlib import Path

_BACKEND = '''"""A PEP 517 backend needing nothing installed: wheels the module as it is."""
import tomllib
from pathlib import Path

from _wheels import make_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
    source = Path(project["name"].replace("-", "_"), "__init__.py").read_text()
    wheel = make_wheel(
        Path(wheel_directory),
        name=project["name"],
        version=project["version"],
        module_source=source,
    )
    return wheel.name


build_editable = build_wheel
'''


def make_wheel(
    directory: Path,
    *,
    name: str,
    version: str,
    module_source: str = "",
    requires: Sequence[str] = (),
) -> Path:
    """Write ``{name}-{version}-py3-none-any.whl``: one module, ``name`` with ``_`` for ``-``.

    ``requires`` become its ``Requires-Dist`` (``"starlette<0.1"``).
    """
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {requirement}\n" for requirement in requires)
    files = {
        f"{module}/__init__.py": module_source,
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record_lines = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record_lines.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record_lines.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = "\n".join(record_lines) + "\n"
    wheel = directory / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def make_project(directory: Path, *, name: str, version: str, module_source: str) -> Path:
    """Write a local project pip can install from ``directory`` (``./mylib``) offline."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "_backend"\nbackend-path = ["."]\n\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\n'
    )
    (directory / "_backend.py").write_text(_BACKEND)
    (directory / "_wheels.py").write_text(Path(__file__).read_text())
    package = directory / name.replace("-", "_")
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text(module_source)
    return directory
