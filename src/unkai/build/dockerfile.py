"""``unkai build --dockerfile``: the same image as a Dockerfile, for teams that build
with docker or podman.

The layout, environment, user, labels and entrypoint are :mod:`image`'s; the runtime
and dependencies are installed with pip inside the build instead of as prepared layers,
so the Unkai distribution (``unkai==<version>``) must be on the index that build uses.
The runtime's packages (Unkai and what its function runtime imports, as in the
daemonless build's runtime layer) are pinned to the versions this Unkai runs with
(``--no-deps``: the pins are the whole set), as the daemonless build copies them.
"""

from __future__ import annotations

import json
from pathlib import Path

import unkai
from unkai.api import funcyaml
from unkai.build import pins, sources
from unkai.build.image import ENTRYPOINT, LABEL, PORT, USER, default_base


def render(directory: Path, base_image: str | None = None) -> str:
    """The Dockerfile for the function in ``directory`` (built with it as context)."""
    spec = funcyaml.load(directory)
    lines = spec.requirement_lines(directory)
    runtime = "".join(f" \\\n    '{line}'" for line in runtime_pins())
    out = [
        "# syntax=docker/dockerfile:1",
        f"# The image `unkai build` makes of {spec.name}; build it from the function's directory.",
        f"FROM {base_image or default_base()}",
        f"ENV PORT={PORT} PYTHONPATH=/{sources.DEPS}:/{sources.RUNTIME} \\",
        "    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1",
        f"RUN pip install --no-cache-dir --no-deps --target /{sources.RUNTIME}{runtime}",
    ]
    if lines:
        if isinstance(spec.requirements, str):
            out += [
                f"COPY {spec.requirements} /tmp/requirements.txt",
                f"RUN pip install --no-cache-dir --target /{sources.DEPS} -r /tmp/requirements.txt",
            ]
        else:
            quoted = " ".join(json.dumps(line) for line in lines)
            out.append(f"RUN pip install --no-cache-dir --target /{sources.DEPS} {quoted}")
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
