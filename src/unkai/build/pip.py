"""Running pip to fill an environment, and telling the user why it failed.

pip resolves the function's requirements under the runtime's constraints (see
``pins``). When they cannot agree, pip's report ("The conflict is caused by: …")
names pip's view of things, including "(constraint)" lines the user never wrote; the
error instead says which requirement wants what against which runtime package and
version. Every other failure keeps pip's own last words.

pip runs in a process group of its own, bounded in time (``timeout``) and stoppable
(``cancelled``): a requirement that hangs (an index that never answers, a ``setup.py``
that never returns) is killed with everything it started, and says so, instead of
holding a deploy, and the thread that waits for it, for ever. The embedded platform
also runs it sandboxed (``sandbox``: as the function's user, seeing only what it reads
and the target it fills; see ``unkai.platform.runners.sandbox``).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from unkai.build import pins
from unkai.build.requirements import RequirementsError

_CAUSE = re.compile(r"^\s*(?:The user requested (?!\(constraint\))|(?P<who>\S+ \S+) depends on )")
_CAUSES = "The conflict is caused by:"
DEFAULT_TIMEOUT: Final = 600.0
_POLL: Final = 0.25

Sandboxing = Callable[[list[str], Sequence[Path], Path], list[str]]
"""How to run pip confined: ``(command, paths it reads, the target it fills)`` -> the
command to run instead."""


class InstallCancelledError(RequirementsError):
    """Nobody wants the environment any more (its revision went away)."""


def install(
    lines: Sequence[str],
    *,
    target: Path,
    cwd: Path,
    timeout: float = DEFAULT_TIMEOUT,
    cancelled: Callable[[], bool] = lambda: False,
    options: Sequence[str] = (),
    constrained: bool = True,
    sandbox: Sandboxing | None = None,
) -> None:
    """Install ``lines`` into ``target``, constrained to the runtime's versions unless
    not ``constrained``, within ``timeout`` seconds; stop early
    (:class:`InstallCancelledError`) once ``cancelled()``; through ``sandbox`` when
    given. ``options`` go to pip as they are (an image's ``--platform``/``--python-version``
    tags)."""
    with tempfile.TemporaryDirectory(prefix="unkai-pip-") as scratch:
        listing = Path(scratch) / "requirements.txt"
        listing.write_text("\n".join(lines) + "\n")
        runtime = Path(scratch) / "runtime-constraints.txt"
        runtime.write_text("\n".join(pins.constraints()) + "\n")
        command = [
            sys.executable,
            *("-m", "pip", "install", "--disable-pip-version-check", "--no-input"),
            *("--target", str(target), "-r", str(listing)),
            *(("-c", str(runtime)) if constrained else ()),
            *options,
        ]
        if sandbox is not None:
            os.chmod(scratch, 0o755)  # a sandboxed pip runs as another user
            command = sandbox(command, [Path(scratch), cwd], target)
        result = _run(command, cwd=cwd, timeout=timeout, cancelled=cancelled)
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


def _run(
    command: list[str], *, cwd: Path, timeout: float, cancelled: Callable[[], bool]
) -> subprocess.CompletedProcess[str]:
    with subprocess.Popen(
        command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    ) as process:  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            try:
                stdout, stderr = process.communicate(timeout=_POLL)
            except subprocess.TimeoutExpired:
                if cancelled():
                    _kill_group(process)
                    message = "installing the requirements was cancelled"
                    raise InstallCancelledError(message) from None
                if time.monotonic() >= deadline:
                    _kill_group(process)
                    raise RequirementsError(
                        f"installing the function's requirements took more than {timeout:g} s"
                        " and was stopped (does an index or a setup.py hang?)"
                    ) from None
                continue
            return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _kill_group(process: subprocess.Popen[str]) -> None:
    """Kill pip and whatever it started (builds, ``setup.py``), then reap pip."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


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
