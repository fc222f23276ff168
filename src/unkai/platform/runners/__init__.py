"""Instances of revisions: the process runner (with a fork-server) and the container runner.

The data plane asks a :class:`Runner` for instances of an :class:`InstanceSpec`
(``from_revision`` reads one from a Revision) and gets :class:`Instance` objects
listening on Unix sockets or loopback ports (bundles run sandboxed, with their limits:
``sandbox``, ``cgroups``, ``limits``); see ``base`` for the contract, docs/runners.md
for the whole story. Output goes to per-instance files (:class:`LogFiles`, ``read``, ``follow``).
"""

from unkai.platform.runners.base import (
    Instance,
    InstanceExit,
    InstanceStartError,
    Runner,
    RunnerError,
)
from unkai.platform.runners.container import ContainerRunner
from unkai.platform.runners.logfiles import LogFiles, LogLine, follow, read
from unkai.platform.runners.process import Mode, ProcessRunner
from unkai.platform.runners.spec import InstanceSpec, Mount, from_revision

__all__ = [
    "ContainerRunner",
    "Instance",
    "InstanceExit",
    "InstanceSpec",
    "InstanceStartError",
    "LogFiles",
    "LogLine",
    "Mode",
    "Mount",
    "ProcessRunner",
    "Runner",
    "RunnerError",
    "follow",
    "from_revision",
    "read",
]
