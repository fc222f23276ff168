"""Running pip to fill an environment, and telling the user why it failed.

pip resolves the function's requirements under the runtime's constraints (see
``pins``). When they cannot agree, pip's report ("The conflict is caused by: …")
names pip's view of things, including "(constraint)" lines the user never wrote; the
error instead says which requirement wants what against which runtime package and
version. Every other failure keeps pip's own last words.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from unkai.build import pins
from unkai.build.requirements import RequirementsError

_CAUSE = re.compile(r"^\s*(?:The user requested (?!\(constraint\))|(?P<who>\S+ \S+) depends on )")
_CAUSES = "The conflict is caused by:"


def install(lines: Sequence[str], *, target: Path, cwd: Path) -> None:
    """Install ``lines`` into ``target``, constrained to the runtime's versions."""
    with tempfile.TemporaryDirectory(prefix="unkai-pip-") as scratch:
        listing = Path(scratch) / "requirements.txt"
        listing.write_text("\n".join(lines) + "\n")
        runtime = Path(scratch) / "runtime-constraints.txt"
        runtime.write_text("\n".join(pins.constraints()) + "\n")
        command = [
            sys.executable,
            *("-m", "pip", "install", "--disable-pip-version-check", "--no-input"),
            *("--target", str(target), "-r", str(listing), "-c", str(runtime)),
        ]
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode == 0:
        return
    conflicts = runtime_conflicts(result.stdout, pins.runtime_versions())
    if conflicts:
        raise RequirementsError(
            "the function's requirements do not fit the packages the Unkai runtime needs"
            " (a function always runs with the runtime's versions of these):\n"
            + "\n".join(f"  {conflict}" for conflict in conflicts)
        )
    detail = [*_causes(result.stdout), *result.stderr.strip().splitlines()[-12:]]
    raise RequirementsError("installing the function's requirements failed:\n" + "\n".join(detail))


def runtime_conflicts(report: str, runtime: Mapping[str, str]) -> list[str]:
    """What pip's conflict report says against ``runtime`` (name -> version), in words.

    A cause the runtime's version satisfies is a bystander when another cause rules that
    version out; when none does, pip simply found no copy of the runtime's version.
    """
    ruled_out, unavailable = [], []
    for who, requirement in filter(None, map(_cause, _causes(report))):
        name = requirement.name
        version = runtime.get(canonicalize_name(name))
        if version is None:
            continue
        if requirement.specifier.contains(version, prereleases=True):
            unavailable.append(
                f"{who} {requirement}: the runtime's {name} {version} fits, but pip found no"
                f" {name} {version} to install (the package index must offer it)"
            )
        else:
            ruled_out.append(f"{who} {requirement}, but the runtime uses {name} {version}")
    return ruled_out or unavailable


def _causes(report: str) -> list[str]:
    """The lines under pip's "The conflict is caused by:", if it said that."""
    _, said, rest = report.partition(_CAUSES)
    return rest.strip("\n").split("\n\n", 1)[0].splitlines() if said else []


def _cause(line: str) -> tuple[str, Requirement] | None:
    """``("needs-old 1.0 requires", starlette<0.1)`` from one line of causes.

    None for the runtime's own "(constraint)" lines and for anything unreadable.
    """
    match = _CAUSE.match(line)
    if match is None:
        return None
    who = f"{match['who']} requires" if match["who"] else "the function requires"
    try:
        return who, Requirement(line[match.end() :])
    except InvalidRequirement:
        return None
