"""An instance dies with the process that started it.

A function process started by ``unkai up`` (spawn mode) or ``unkai run`` runs in its
own session, so Ctrl-C in a terminal reaches only its parent, which then drains it.
When the parent is killed outright (``kill -9``, an OOM kill, a crashed CI job), nobody
is left to drain it, and it used to go on serving on its port for ever. The kernel's
parent-death signal (Linux ``prctl(PR_SET_PDEATHSIG)``) closes that gap: the parent
names itself in ``UNKAI_PARENT_PID``, and the child asks to receive ``SIGTERM`` (and so
drain, as on any stop) when that parent goes. If the parent died before the request
took effect, the child signals itself at once. Elsewhere than Linux this does nothing.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import MutableMapping
from typing import Final

PARENT_ENV: Final = "UNKAI_PARENT_PID"
_PR_SET_PDEATHSIG: Final = 1


def child_env(env: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """``env`` for a child that must not outlive this process."""
    env[PARENT_ENV] = str(os.getpid())
    return env


def bind_to_parent(environ: MutableMapping[str, str] = os.environ) -> None:
    """Die (with ``SIGTERM``) when the parent named in the environment dies. The variable
    is removed, so the function's own subprocesses are not bound to our parent."""
    raw = environ.pop(PARENT_ENV, None)
    if raw is not None and raw.isdigit():
        die_with_parent(signal.SIGTERM, parent=int(raw))


def die_with_parent(signum: int, *, parent: int) -> None:
    """Receive ``signum`` when the process ``parent`` (this one's parent) exits."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        return  # not permitted here: the parent's own clean-up is all there is
    if os.getppid() != parent:  # it died before the request took effect
        os.kill(os.getpid(), signum)
