"""The few kernel calls a base zygote's forks need to set up their own mounts.

A revision's zygote forked from a sandboxed base (see ``basezygote``) must see its
bundle and requirement sites, which the base, started before the revision existed,
does not. A bind mount cannot take its source from another mount namespace, so the
platform, outside, makes a detached read-only copy of each directory with
``open_tree(OPEN_TREE_CLONE)`` and hands its descriptor over; the fork, in a mount
namespace of its own (``unshare(CLONE_NEWNS)``, allowed because the base runs in a
user namespace where it holds capabilities), attaches it with ``move_mount``. Then it
drops every capability before anything of the function is imported.

Python 3.11 has none of these calls (``os.unshare`` came in 3.12; ``open_tree`` and
``move_mount`` are in no release), and they are a handful of ``syscall(2)`` numbers on
one architecture, so they are called through ``ctypes`` here rather than through a
dependency. Linux x86-64 and arm64 only; elsewhere :data:`SUPPORTED` is false and the
runner keeps a zygote per revision.
"""

from __future__ import annotations

import ctypes
import os
import platform
from pathlib import Path
from typing import Final

CLONE_NEWNS: Final = 0x00020000
CLONE_NEWUSER: Final = 0x10000000
_NUMBERS: Final = {  # open_tree, move_mount, mount_setattr (generic numbering on both)
    "x86_64": (428, 429, 442),
    "aarch64": (428, 429, 442),
}
SUPPORTED: Final = platform.system() == "Linux" and platform.machine() in _NUMBERS
_OPEN_TREE_CLONE: Final = 1
_AT_RECURSIVE: Final = 0x8000
_AT_EMPTY_PATH: Final = 0x1000
_AT_FDCWD: Final = -100
_O_CLOEXEC: Final = 0o2000000
_MOVE_MOUNT_F_EMPTY_PATH: Final = 0x4
_MOUNT_ATTR_RDONLY: Final = 0x1
_MOUNT_ATTR_NOSUID: Final = 0x2
_MOUNT_ATTR_NODEV: Final = 0x4
_MS_RDONLY: Final = 0x1
_MS_NOSUID: Final = 0x2
_MS_NODEV: Final = 0x4
_MS_REMOUNT: Final = 0x20
_MS_BIND: Final = 0x1000
_MS_REC: Final = 0x4000
_PR_CAPBSET_DROP: Final = 24
_PR_SET_DUMPABLE: Final = 4
_CAPABILITY_V3: Final = 0x20080522
_libc = ctypes.CDLL(None, use_errno=True)


class _MountAttr(ctypes.Structure):
    _fields_ = [  # ctypes' own declaration
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


def _checked(result: int, what: str) -> int:
    if result < 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")
    return result


def _syscall(index: int, *args: object) -> int:
    return int(_libc.syscall(_NUMBERS[platform.machine()][index], *args))


def read_only_tree(path: Path) -> int:
    """A descriptor of a detached, read-only (``nosuid``, ``nodev``) copy of the mounts
    at ``path``, which another mount namespace can attach (:func:`attach`)."""
    flags = _OPEN_TREE_CLONE | _AT_RECURSIVE | _O_CLOEXEC
    fd = _checked(_syscall(0, _AT_FDCWD, str(path).encode(), flags), f"open_tree {path}")
    attr = _MountAttr(_MOUNT_ATTR_RDONLY | _MOUNT_ATTR_NOSUID | _MOUNT_ATTR_NODEV, 0, 0, 0)
    size = ctypes.sizeof(attr)
    try:
        flags = _AT_EMPTY_PATH | _AT_RECURSIVE
        _checked(_syscall(2, fd, b"", flags, ctypes.byref(attr), size), f"read-only {path}")
    except OSError:
        os.close(fd)
        raise
    return fd


def attach(tree: int, target: Path) -> None:
    """Mount the detached ``tree`` (from :func:`read_only_tree`) at ``target``."""
    flags = _MOVE_MOUNT_F_EMPTY_PATH
    _checked(_syscall(1, tree, b"", _AT_FDCWD, str(target).encode(), flags), f"mount {target}")


def unshare(flags: int) -> None:
    _checked(_libc.unshare(flags), "unshare")


def enter_user_namespace() -> None:
    """A user and mount namespace of this process's own, its uid and gid mapped to
    themselves: it holds every capability there (over its own mounts), none outside."""
    uid, gid = os.getuid(), os.getgid()
    unshare(CLONE_NEWUSER | CLONE_NEWNS)
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    undumpable()


def undumpable() -> None:
    """Not to be traced or read through ``/proc`` by its own uid's other processes (the
    functions it forks): it holds capabilities they must not borrow."""
    _checked(_libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)")


def mount_tmpfs(target: Path, *, mode: int = 0o1777) -> None:
    options = f"mode={mode:o}".encode()
    result = _libc.mount(b"tmpfs", str(target).encode(), b"tmpfs", 0, options)
    _checked(result, f"tmpfs on {target}")


def read_only_in_place(path: Path) -> None:
    """Make what is at ``path`` read-only here (a bind of it onto itself, with what is
    mounted below it, then remounted read-only; those below keep their own flags)."""
    where = str(path).encode()
    _checked(_libc.mount(where, where, None, _MS_BIND | _MS_REC, None), f"bind {path}")
    flags = _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV
    _checked(_libc.mount(None, where, None, flags, None), f"read-only {path}")


def drop_capabilities() -> None:
    """Give up every capability, for good (bounding set, then the sets themselves), and
    become traceable by its own uid again, as any process."""
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for capability in range(last + 1):
        _checked(_libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0), "prctl(PR_CAPBSET_DROP)")
    header = (ctypes.c_uint32 * 2)(_CAPABILITY_V3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: twice 32 bits, all 0
    _checked(_libc.capset(header, data), "capset")
    _checked(_libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0), "prctl(PR_SET_DUMPABLE)")
