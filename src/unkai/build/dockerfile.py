"""``unkai build --dockerfile``: the same image as a Dockerfile, for teams that build
with docker or podman.

The layout, environment, user, labels and entrypoint are :mod:`image`'s; the runtime
and dependencies are installed with pip inside the build instead of as prepared layers.
The runtime's packages (Unkai and what its function runtime imports, as in the
daemonless build's runtime layer) are pinned to the versions this Unkai runs with
(``--no-deps``: the pins are the whole set), as the daemonless build copies them;
``--no-compile`` as its layers leave bytecode out (9.5 of 41 MiB of the runtime's).

Unkai itself is not published on PyPI, so ``unkai==<version>`` only installs from an
index that has it. With a wheel of Unkai in the build context (``unkai_wheel``), the
build installs that file instead, bind-mounted into the ``RUN`` (no layer keeps it);
without one, the Dockerfile's first lines say how to make it.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import unkai
from unkai.api import funcyaml
from unkai.build import pins, sources
from unkai.build.image import ENTRYPOINT, LABEL, PORT, USER, default_base

_PIP = "pip install --no-cache-dir --no-compile"
_CONSTRAINTS = "/tmp/runtime-constraints.txt"
"""The runtime's versions, which the function's requirements are installed under (as
``unkai build`` does): a requirement cannot shadow the runtime with another version."""


def render(
    directory: Path, base_image: str | None = None, unkai_wheel: PurePosixPath | None = None
) -> str:
    """The Dockerfile for the function in ``directory`` (built with it as context);
    ``unkai_wheel`` is a wheel of this Unkai, relative to ``directory``."""
    spec = funcyaml.load(directory)
    lines = spec.requirement_lines(directory)
    out = [
        "# syntax=docker/dockerfile:1",
        f"# The image `unkai build` makes of {spec.name}; build it from the function's directory.",
        *_wheel_advice(unkai_wheel),
        f"FROM {base_image or default_base()}",
        f"ENV PORT={PORT} PYTHONPATH=/{sources.DEPS}:/{sources.RUNTIME} \\",
        "    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1",
        *_runtime_install(unkai_wheel),
    ]
    if lines:
        if isinstance(spec.requirements, str):
            out.append(f"COPY {spec.requirements} /tmp/requirements.txt")
            wanted = "-r /tmp/requirements.txt"
        else:
            wanted = " ".join(json.dumps(line) for line in lines)
        out += [
            f"RUN pip freeze --path /{sources.RUNTIME} --exclude {pins.RUNTIME}"
            f" > {_CONSTRAINTS} \\",
            f"    && {_PIP} --target /{sources.DEPS} -c {_CONSTRAINTS} {wanted} \\",
            f"    && rm {_CONSTRAINTS}",
        ]
    signature = spec.signature.value if spec.signature else "auto"
    out += [
        f"COPY . /{sources.CODE}",
        f"WORKDIR /{sources.CODE}",
        f'LABEL {LABEL}.function="{spec.name}" {LABEL}.signature="{signature}" \\',
        f'      {LABEL}.runtime-version="{unkai.__version__}"',
        f"USER {USER}",
        f"EXPOSE {PORT}",
        f"ENTRYPOINT {json.dumps(list(ENTRYPOINT))}",
    ]
    return "\n".join(out) + "\n"


def runtime_pins() -> list[str]:
    """``unkai==X`` and the image runtime's distributions, each at its version here."""
    versions = {pins.RUNTIME: unkai.__version__, **sources.image_runtime()}
    return [f"{name}=={version}" for name, version in sorted(versions.items())]


def wheel_command() -> str:
    """How to make the wheel ``--unkai-wheel`` takes: from this Unkai's source tree
    when it runs from one (an editable install), else from its source's path."""
    tree = Path(unkai.__file__).resolve().parents[2]
    source = str(tree) if (tree / "pyproject.toml").is_file() else "<Unkai's source>"
    return f"python3 -m pip wheel --no-deps --wheel-dir . {source}"


def _wheel_advice(unkai_wheel: PurePosixPath | None) -> list[str]:
    if unkai_wheel is not None:
        return []
    return [
        f"# Installs unkai=={unkai.__version__} from the package index. Where the index has",
        "# no Unkai (PyPI has none), make a wheel of it in this directory and print this",
        f"# again with --unkai-wheel FILE: {wheel_command()}",
    ]


def _runtime_install(unkai_wheel: PurePosixPath | None) -> list[str]:
    """The ``RUN`` that fills the runtime directory: every pin from the index, or Unkai
    from the wheel (bind-mounted, so no layer keeps the file) and the rest by pin."""
    pinned = runtime_pins()
    mount = ""
    if unkai_wheel is not None:
        inside = f"/tmp/unkai-wheel/{unkai_wheel.name}"  # pip reads the version from the name
        mount = f"--mount=type=bind,source={unkai_wheel},target={inside} "
        pinned = [inside, *(pin for pin in pinned if not pin.startswith(f"{pins.RUNTIME}=="))]
    listed = "".join(f" \\\n    '{pin}'" for pin in pinned)
    return [f"RUN {mount}{_PIP} --no-deps --target /{sources.RUNTIME}{listed}"]
