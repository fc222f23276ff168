"""A control group per instance: memory, CPU and process-count limits, and a way to kill
everything an instance started.

Two kernels' worth of interface, detected once by :func:`detect`:

* **cgroup v2** (one unified hierarchy, ``cgroup.controllers`` lists ``memory``,
  ``pids``, ``cpu``): one directory per instance, ``memory.max``, ``pids.max``,
  ``cpu.max``; ``cgroup.kill`` ends every process in it; ``memory.events`` counts OOM kills.
* **cgroup v1** (a hierarchy per controller): a directory per instance under each of
  ``memory``, ``pids`` and ``cpu`` (the last only where it is mounted and writable),
  ``memory.limit_in_bytes``, ``pids.max``, ``cpu.cfs_quota_us``; there is no kill file,
  so every pid listed is SIGKILLed until none is left (a process killed with SIGKILL
  cannot fork again, so this ends); ``memory.oom_control`` counts OOM kills.

Directories go under the platform's own group in each hierarchy (from
``/proc/self/cgroup``), in a ``unkai-{pid}-{random}`` parent of this runner's, so that
two platforms (or runners) on one machine never meet; those of platforms that died
(``kill -9``) are emptied and removed when the next one starts. On v2 the platform's
own group must hand its controllers down, which v2 allows only to a group without
processes: the platform then moves itself to a leaf child first (``unkai-platform``),
as container engines do.

An instance joins its group itself, before it runs any of the function's code: the
platform opens the ``tasks`` (v1) or ``cgroup.procs`` (v2) files and the fork-server
hands them to the child, which writes ``0`` ("me") to each. Opening them needs the
platform's rights; writing through an open file does not (the kernel checks the
opener), so the child can do it after dropping to its unprivileged user.

Making a group (a ``mkdir`` per hierarchy and the limits' writes) took 1-3 ms of a
cold start under load, in an in-process trace of ``unkai up`` (docs/benchmarks.md), so
:class:`Spares` keeps one made ahead per revision, made when an instance of it ends
(that is, before the revision's next cold start), and taken by the next start.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import signal
import time
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from unkai.platform.runners.limits import Limits

CPU_PERIOD_US: Final = 100_000
KILL_DEADLINE: Final = 5.0
V1_CONTROLLERS: Final = ("memory", "pids", "cpu")
V2_LEAF: Final = "unkai-platform"
"""Where the platform moves itself on v2 when its group must hand controllers down."""


@dataclass(frozen=True)
class Hierarchy:
    """Where this platform's groups live: a root per v1 controller (``memory``, ``pids``,
    maybe ``cpu``), or the one v2 root (``unified``) and whether it offers ``cpu``."""

    version: int
    roots: dict[str, Path]
    cpu: bool
    """Whether CPU limits can be enforced here (a writable cpu controller)."""

    def create(self, name: str, limits: Limits) -> InstanceGroup:
        """A new group for one instance, with ``limits`` written."""
        directories = {controller: root / name for controller, root in self.roots.items()}
        for directory in directories.values():
            directory.mkdir(exist_ok=True)
        group = InstanceGroup(self.version, directories)
        try:
            group.limit(limits, cpu=self.cpu)
        except OSError:
            group.remove()
            raise
        return group


class InstanceGroup:
    """One instance's group: its directory in each hierarchy, by controller."""

    def __init__(self, version: int, directories: dict[str, Path]) -> None:
        self.version = version
        self.directories = directories
        self._oom_kills = 0

    def limit(self, limits: Limits, *, cpu: bool) -> None:
        """Write ``limits`` (the CPU's only where ``cpu`` says the controller is there)."""
        if "unified" in self.directories:
            directory = self.directories["unified"]
            if limits.memory is not None:
                _write(directory / "memory.max", limits.memory)
                _write_optional(directory / "memory.swap.max", 0)
            _write(directory / "pids.max", limits.pids)
            if limits.cpu is not None and cpu:
                _write(directory / "cpu.max", f"{_quota(limits.cpu)} {CPU_PERIOD_US}")
            return
        if limits.memory is not None:
            _write(self.directories["memory"] / "memory.limit_in_bytes", limits.memory)
            _write_optional(
                self.directories["memory"] / "memory.memsw.limit_in_bytes", limits.memory
            )
        _write(self.directories["pids"] / "pids.max", limits.pids)
        if limits.cpu is not None and cpu:
            _write(self.directories["cpu"] / "cpu.cfs_period_us", CPU_PERIOD_US)
            _write(self.directories["cpu"] / "cpu.cfs_quota_us", _quota(limits.cpu))

    def open_procs(self) -> list[int]:
        """File descriptors (write-only) for the child to join by, one per hierarchy.

        On v1 that is ``tasks``, not ``cgroup.procs``: the child writes ``0`` just after
        the fork, while it has one thread, and moving one's own thread skips the
        kernel's global threadgroup lock, whose RCU wait made every cold start ~14 ms
        slower (measured, docs/benchmarks.md). v2 has no such file outside threaded
        groups."""
        name = "cgroup.procs" if self.version == 2 else "tasks"
        fds: list[int] = []
        try:
            for directory in self.directories.values():
                fds.append(os.open(directory / name, os.O_WRONLY | os.O_CLOEXEC))
        except OSError:
            for fd in fds:
                os.close(fd)
            raise
        return fds

    def pids(self) -> set[int]:
        found: set[int] = set()
        for directory in self.directories.values():
            with contextlib.suppress(FileNotFoundError):
                found.update(int(line) for line in (directory / "cgroup.procs").read_text().split())
        return found

    def kill(self, *, deadline: float = KILL_DEADLINE) -> None:
        """SIGKILL every process in the group, and wait (up to ``deadline`` s) until none is."""
        kill_file = next(iter(self.directories.values())) / "cgroup.kill"
        until = time.monotonic() + deadline
        while (pids := self.pids()) and time.monotonic() < until:
            if self.version == 2 and kill_file.exists():
                _write(kill_file, 1)
            else:
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            time.sleep(0.001)  # not a barrier: the loop re-reads the group's members

    def oom_kills(self) -> int:
        """How many processes of the group the kernel killed for want of memory."""
        for directory in self.directories.values():
            for name in ("memory.events", "memory.oom_control"):
                with contextlib.suppress(FileNotFoundError):
                    for line in (directory / name).read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill":
                            self._oom_kills = max(self._oom_kills, int(value))
        return self._oom_kills

    def remove(self) -> None:
        """Remove the (empty) directories; a busy one is left for :func:`sweep` to find."""
        for directory in self.directories.values():
            with contextlib.suppress(OSError):
                directory.rmdir()


class Spares:
    """At most one group made ahead per key (a revision), with the limits it was made
    for: :meth:`take` hands it out when the limits still match, or makes a group then."""

    def __init__(self, hierarchy: Hierarchy) -> None:
        self.hierarchy = hierarchy
        self._ready: dict[Hashable, tuple[Limits, InstanceGroup]] = {}

    def take(self, key: Hashable, name: str, limits: Limits) -> InstanceGroup:
        """A group with ``limits``: the spare made for ``key``, or a new one named ``name``."""
        spare = self._ready.pop(key, None)
        if spare is not None:
            if spare[0] == limits:
                return spare[1]
            spare[1].remove()  # made for the limits of a revision's earlier spec
        return self.hierarchy.create(name, limits)

    def make(self, key: Hashable, name: str, limits: Limits) -> None:
        """Have a group ready for ``key``'s next :meth:`take`. Best effort: when it cannot
        be made now, the start makes it, and reports why if it fails again."""
        if key not in self._ready:
            with contextlib.suppress(OSError):
                self._ready[key] = (limits, self.hierarchy.create(name, limits))

    def drop(self, key: Hashable) -> None:
        """Remove ``key``'s spare: the revision starts no more instances soon."""
        spare = self._ready.pop(key, None)
        if spare is not None:
            spare[1].remove()


def detect(*, proc: Path = Path("/proc/self"), name: str | None = None) -> Hierarchy | None:
    """This machine's writable hierarchy with a parent group for this platform, or
    ``None`` when no memory and pids controllers can be written (not root, no cgroups)."""
    name = name or f"unkai-{os.getpid()}-{secrets.token_hex(3)}"  # one per runner
    own = _own_groups(proc / "cgroup")
    mounts = _mounts(proc / "mountinfo")
    if "cgroup2" in mounts:
        base = _inside(mounts["cgroup2"], own.get("", "/"))
        if base.name == V2_LEAF:  # an earlier runner of this process moved it there
            base = base.parent
        controllers = _read_words(base / "cgroup.controllers")
        if {"memory", "pids"} <= controllers:
            _sweep(2, "unified", base)
            wanted = " ".join(f"+{c}" for c in ("memory", "pids", "cpu") if c in controllers)
            with contextlib.suppress(OSError):
                _delegate(base, wanted)
                parent = base / name
                parent.mkdir(exist_ok=True)
                _write(parent / "cgroup.subtree_control", wanted)
                return Hierarchy(2, {"unified": parent}, cpu="cpu" in controllers)
    roots: dict[str, Path] = {}
    for controller in V1_CONTROLLERS:
        mount = mounts.get(controller)
        if mount is None:
            continue
        parent = _inside(mount, own.get(controller, "/")) / name
        with contextlib.suppress(OSError):
            _sweep(1, controller, parent.parent)
            parent.mkdir(exist_ok=True)
            probe = parent / "probe"
            probe.mkdir(exist_ok=True)
            probe.rmdir()
            roots[controller] = parent
    if "memory" in roots and "pids" in roots:
        return Hierarchy(1, roots, cpu="cpu" in roots)
    for root in roots.values():
        with contextlib.suppress(OSError):
            root.rmdir()
    return None


def _delegate(group: Path, wanted: str) -> None:
    """Enable ``wanted`` controllers for ``group``'s children. v2 allows that only in a
    group without processes of its own (the root excepted): when ours has them
    (``EBUSY``), this process moves to a leaf child, :data:`V2_LEAF`, first."""
    try:
        _write(group / "cgroup.subtree_control", wanted)
    except OSError as error:
        if error.errno != errno.EBUSY:
            raise
        leaf = group / V2_LEAF
        leaf.mkdir(exist_ok=True)
        _write(leaf / "cgroup.procs", os.getpid())
        _write(group / "cgroup.subtree_control", wanted)


def release(hierarchy: Hierarchy) -> None:
    """Remove the platform's parent groups (what instances left is killed first)."""
    for controller, root in hierarchy.roots.items():
        _release(hierarchy.version, controller, root)


def _release(version: int, controller: str, root: Path) -> None:
    for child in root.iterdir() if root.is_dir() else ():
        if child.is_dir():
            group = InstanceGroup(version, {controller: child})
            group.kill()
            group.remove()
    with contextlib.suppress(OSError):
        root.rmdir()


def _sweep(version: int, controller: str, directory: Path) -> None:
    """Release the groups of platforms that died without doing it (``kill -9``)."""
    for stale in directory.glob("unkai-*"):
        pid = stale.name.split("-")[1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            _release(version, controller, stale)


def _own_groups(path: Path) -> dict[str, str]:
    """Controller -> this process's group path; ``""`` for the unified hierarchy."""
    groups: dict[str, str] = {}
    for line in path.read_text().splitlines():
        _, controllers, group = line.split(":", 2)
        for controller in controllers.split(","):
            groups[controller] = group
    return groups


def _inside(mount: tuple[Path, str], group: str) -> Path:
    """The directory of ``group`` under a mount of (part of) its hierarchy."""
    point, root = mount
    relative = os.path.relpath(group, root)
    return point if relative == "." else point / relative


def _mounts(path: Path) -> dict[str, tuple[Path, str]]:
    """Mount point and mounted root of cgroup hierarchies: ``"cgroup2"`` and each v1
    controller."""
    mounts: dict[str, tuple[Path, str]] = {}
    for line in path.read_text().splitlines():
        fields = line.split()
        separator = fields.index("-")
        fstype, options = fields[separator + 1], fields[separator + 3].split(",")
        if fstype == "cgroup2":
            mounts.setdefault("cgroup2", (Path(fields[4]), fields[3]))
        elif fstype == "cgroup":
            for option in options:
                if option in V1_CONTROLLERS:
                    mounts.setdefault(option, (Path(fields[4]), fields[3]))
    return mounts


def _read_words(path: Path) -> set[str]:
    try:
        return set(path.read_text().split())
    except OSError:
        return set()


def _quota(cpu: float) -> int:
    return max(1000, round(cpu * CPU_PERIOD_US))


def _write(path: Path, value: object) -> None:
    path.write_text(f"{value}\n")


def _write_optional(path: Path, value: object) -> None:
    """Swap accounting may be off: then there is no swap limit to set, nor swap to use."""
    with contextlib.suppress(FileNotFoundError, PermissionError):
        _write(path, value)
