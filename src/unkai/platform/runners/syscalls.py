"""The sandbox's seccomp filter: system calls a function has no business making.

Run as ``python -m unkai.platform.runners.syscalls -- COMMAND…`` inside the sandbox,
after ``setpriv`` has dropped privileges: it loads the filter and ``exec``s the command
(the zygote, or pip installing requirements), which keeps it, as does everything
forked from it. A filter survives ``exec`` and cannot be removed.

Which calls, and why: the other layers already make most of the kernel's privileged
calls fail (no capabilities, ``no_new_privs``, its own namespaces), so the filter
closes what an unprivileged process may still do and what container runtimes close by
default too (Docker's and containerd's default profiles): making namespaces
(``unshare``, ``clone`` with a ``CLONE_NEW*`` flag, ``setns``; a new user namespace
gives back capabilities over a large part of the kernel), ``clone3`` (its flags cannot
be inspected, so it answers ``ENOSYS`` and the C library falls back to ``clone``), the
kernel keyring, ``bpf``, ``perf_event_open``, ``userfaultfd`` and ``io_uring`` (the
usual routes of kernel exploits), and, as a second wall, mounting, module loading,
rebooting, the clock, swap and raw I/O ports. Each answers ``EPERM`` (as without the
privilege), so well-behaved code sees an ordinary refusal. Calls of another
architecture's ABI (32-bit entry points) kill the process: they are how filters are
bypassed. Everything else is allowed: an allow-list would break functions in ways no
one could foresee.

The filter is made with libseccomp (the library Docker, podman and systemd use),
through ``pyseccomp``, a ctypes binding of it (libseccomp's own Python binding is in
Debian, not on PyPI).
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Final

import pyseccomp as seccomp

DENIED: Final = (
    "unshare", "setns", "keyctl", "add_key", "request_key", "bpf", "perf_event_open",
    "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "mount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen", "fsmount",
    "fsconfig", "fspick", "init_module", "finit_module", "delete_module", "kexec_load",
    "kexec_file_load", "reboot", "swapon", "swapoff", "acct", "quotactl", "syslog",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "iopl", "ioperm",
    "open_by_handle_at", "name_to_handle_at", "lookup_dcookie", "vhangup",
)  # fmt: skip
"""Answered ``EPERM``."""
NEW_NAMESPACES: Final = (
    0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000,
)  # fmt: skip
"""``CLONE_NEWNS``, ``NEWCGROUP``, ``NEWUTS``, ``NEWIPC``, ``NEWUSER``, ``NEWPID``, ``NEWNET``:
``clone`` with any of them answers ``EPERM``."""


def build() -> seccomp.SyscallFilter:
    """The filter (not loaded)."""
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in DENIED:
        try:
            rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except (RuntimeError, ValueError, OSError):
            continue  # unknown to this kernel's or library's syscall table: nothing to deny
    for flag in NEW_NAMESPACES:
        has_flag = seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag)
        rules.add_rule(seccomp.ERRNO(errno.EPERM), "clone", has_flag)
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    return rules


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[args.index("--") + 1 :]
    build().load()
    os.execvp(command[0], command)


if __name__ == "__main__":
    sys.exit(main())
