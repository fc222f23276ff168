"""The sandbox a revision's zygote (and so every instance forked from it) runs in.

Set up once per zygote, so that forks stay as cheap as before: the zygote is started
through **bubblewrap** (``bwrap``, Debian's ``bubblewrap``), which gives it

* its own mount namespace holding only what a function needs, read-only: ``/usr`` and
  ``/etc``, the Python installation and Unkai's own code, the revision's bundle and its
  requirement environment; a private ``/tmp``, a fresh ``/proc`` and a minimal ``/dev``.
  The data dir (store, token, other bundles, logs) and the runner's socket directory are
  simply not there: an instance gets its log file and its listening socket as open file
  descriptors from the platform;
* the revision's volumes (``volumeMounts``, see :func:`binds`): each volume's
  materialised directory (``runners.volumes``) bound at its ``mountPath``, read-only
  where the mount is (Knative requires that of ``configMap``, ``secret`` and
  ``projected``), writable for an ``emptyDir``, which is a directory *per revision*,
  shared by every instance forked from its zygote (a fork cannot mount on its own:
  it has no privileges left). The data plane rewrites a ConfigMap's or Secret's
  directory in place (a ``..data`` symlink swap), so the files inside follow updates as
  on a cluster; a ``subPath`` is bound once and does not, as with a kubelet. An
  ``emptyDir`` with ``medium: Memory`` is a tmpfs of its ``sizeLimit``. A ``mountPath``
  that does not exist under a read-only system directory (``/etc/config``) is made on
  a tmpfs laid over its nearest existing parent, holding binds of that parent's entries;
* its own pid namespace (the platform and other revisions cannot be seen, signalled or
  read through ``/proc``; when the zygote ends, the kernel kills everything left in it),
  IPC and UTS namespaces, and a new session;
* on request (``unkai up --private-network``), its own network namespace with
  outbound access only (``slirp4netns``, see :mod:`.network`): the machine's loopback
  (the API server, the gateway, local databases) is out of reach, and nothing can
  connect to what the function listens on. Otherwise it shares the machine's network,
  so that a function can call the platform's gateway (other services, a broker's
  ``K_SINK``) on loopback as a pod calls the cluster's; either way the gateway reaches
  the instance only through the Unix socket it is handed, never a TCP port;
* a seccomp filter closing the system calls an unprivileged process may still make to
  escape or attack the kernel (new namespaces, keyrings, ``bpf``, ``io_uring``…: see
  :mod:`.syscalls`);
* an unprivileged user: ``securityContext.runAsUser``/``runAsGroup`` when given,
  otherwise, when the platform runs as root, a uid and gid of the revision's namespace
  (:func:`namespace_uid`), switched to by util-linux's ``setpriv`` with no supplementary
  groups, no capabilities and ``PR_SET_NO_NEW_PRIVS``. A platform that is not root
  runs the zygote in a user namespace instead (its own uid inside and out).

What bubblewrap cannot give is said, not hidden: :attr:`Sandbox.gaps` lists it, the
revision's status carries it, and ``ProcessRunner`` logs it once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import unkai
from unkai.platform.runners import volumes
from unkai.platform.runners.spec import InstanceSpec

FIRST_UID: Final = 800_000
UIDS: Final = 100_000
"""Namespaces' uids are ``FIRST_UID + crc32(namespace) % UIDS``: far above the ids of a
machine's users (Debian gives them 1000–59999) and below the 32-bit ids user namespaces
hand out. Two namespaces can share a uid (about one pair in 100,000); the mount and pid
namespaces still keep them apart."""
SYSTEM_DIRS: Final = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64")
_PLATFORM_PATH: Final = [entry for entry in sys.path[1:] if entry]
"""Where the platform imports from (not ``sys.path[0]``, the directory of whatever
started it): its helpers around a function import from there and nowhere else."""


def helper(module: str) -> list[str]:
    """The command running the platform's ``module`` around a function (in the sandbox,
    or just outside it), with ``-I``: the function's environment puts its requirements
    first on ``PYTHONPATH``, which would let them replace any module the helper imports,
    even the standard library's, with the tenant's own code."""
    boot = (
        f"import sys, runpy; sys.path[:0] = {_PLATFORM_PATH!r}; "
        f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
    )
    return [sys.executable, "-I", "-c", boot]


TUN: Final = "/dev/net/tun"  # what slirp4netns makes the sandbox's network device with


def namespace_uid(namespace: str) -> int:
    return FIRST_UID + zlib.crc32(namespace.encode()) % UIDS


@dataclass(frozen=True)
class Identity:
    """Who a revision's processes run as: ``uid`` and ``gid``."""

    uid: int
    gid: int


@dataclass(frozen=True)
class Bind:
    """A volume in the sandbox: ``source`` bound at ``target``, or a tmpfs of ``size``
    bytes (no limit: ``None``) when ``source`` is ``None``."""

    target: str
    source: Path | None
    writable: bool = False
    size: int | None = None


def binds(spec: InstanceSpec) -> list[Bind]:
    """``spec``'s volume mounts as :class:`Bind`; :class:`RunnerError` for what cannot
    be mounted (see :func:`volumes.source`)."""
    found = []
    for mount in spec.mounts:
        if mount.memory:
            size = volumes.quantity_bytes(mount.size_limit) if mount.size_limit else None
            found.append(Bind(mount.mount_path, None, writable=True, size=size))
        else:
            source = volumes.source(mount, spec.volumes_dir)
            found.append(Bind(mount.mount_path, source, writable=not mount.read_only))
    return found


@dataclass(frozen=True)
class Sandbox:
    """What this platform can isolate, found once by :meth:`detect` (or switched off)."""

    bwrap: str | None
    setpriv: str | None
    root: bool
    gaps: tuple[str, ...] = field(default=())
    slirp4netns: str | None = None
    """Where the sandbox gets a network namespace of its own from, with util-linux's
    ``unshare`` (see :attr:`no_private_network`)."""
    unshare: str | None = None
    seccomp: bool = False
    """Whether the sandboxed command runs under :mod:`.syscalls`' seccomp filter."""

    @classmethod
    def detect(cls) -> Sandbox:
        bwrap, setpriv = shutil.which("bwrap"), shutil.which("setpriv")
        root = os.geteuid() == 0
        if bwrap is None:
            return cls.off("bwrap is not installed (Debian: apt-get install bubblewrap)")
        if root and setpriv is None:
            return cls.off("setpriv (util-linux) is not installed")
        slirp4netns, unshare = shutil.which("slirp4netns"), shutil.which("unshare")
        gaps: tuple[str, ...] = ()
        try:  # imported here: without libseccomp the platform still starts, and says so
            from unkai.platform.runners import syscalls

            syscalls.build()
        except (ImportError, OSError, RuntimeError) as error:
            gaps = (f"no seccomp filter (every system call is allowed): {error}",)
        sandbox = cls(bwrap, setpriv, root, gaps, slirp4netns, unshare, seccomp=not gaps)
        trial = sandbox.command(["true"], identity=None if not root else Identity(0, 0),
                                read_only=(), workdir=Path("/"))  # fmt: skip
        try:  # namespaces may be forbidden (a container, a sysctl): find out once, here
            subprocess.run(trial, capture_output=True, text=True, timeout=10, check=True)
        except (OSError, subprocess.SubprocessError) as error:
            detail = getattr(error, "stderr", "") or str(error)
            return cls.off(f"bwrap cannot make namespaces here: {detail.strip()}")
        return sandbox

    @classmethod
    def off(cls, why: str) -> Sandbox:
        """No sandbox: instances run as the platform's user and see what it sees."""
        return cls(None, None, os.geteuid() == 0, (f"functions are not isolated: {why}",))

    @property
    def enabled(self) -> bool:
        return self.bwrap is not None

    @property
    def no_private_network(self) -> str | None:
        """Why the sandbox cannot have a network of its own here (``None``: it can)."""
        if not self.enabled:
            return "there is no sandbox"
        if self.slirp4netns is None:
            return "slirp4netns is not installed (Debian: apt-get install slirp4netns)"
        if self.unshare is None:
            return "unshare (util-linux) is not installed"
        return None if Path(TUN).exists() else f"there is no {TUN}"

    def identity(self, namespace: str, *, uid: int | None, gid: int | None) -> Identity | None:
        """The user a revision runs as (``securityContext`` first); ``None`` without root,
        where the zygote keeps the platform's uid inside a user namespace."""
        if not self.root:
            return None
        chosen = namespace_uid(namespace) if uid is None else uid
        return Identity(chosen, chosen if gid is None else gid)

    def command(
        self,
        argv: Sequence[str],
        *,
        identity: Identity | None,
        read_only: Iterable[Path],
        workdir: Path,
        writable: Iterable[Path] = (),
        network: bool = False,
        mounts: Sequence[Bind] = (),
    ) -> list[str]:
        """``argv`` wrapped to run in the sandbox, seeing ``read_only`` paths (and the
        system and Python) read-only, ``writable`` ones writable and ``mounts`` at their
        targets; ``workdir`` is its
        working directory. With ``network`` (where :attr:`no_private_network` is ``None``),
        in a network namespace of its own with outbound access only; otherwise on the
        machine's network."""
        assert self.bwrap is not None
        args = [self.bwrap, "--die-with-parent", "--new-session"]
        if network and self.no_private_network is None:
            assert self.slirp4netns is not None
            assert self.unshare is not None
            launcher = helper("unkai.platform.runners.network")
            launcher += [self.slirp4netns, self.unshare]
            args = [*launcher, *(["--userns"] if identity is None else []), "--", *args]
        args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", "unkai"]
        if identity is None:
            args.append("--unshare-user")
        # /tmp first: what is bound next may live under it (the data dir of a test)
        args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
        # bwrap covers these only when it finds them writable; a function running as
        # uid 0 (``runAsUser: 0``, no capabilities) could still write sysctls and
        # /proc/sysrq-trigger, which check the uid alone
        args += ["--ro-bind", "/proc/sys", "/proc/sys"]
        args += ["--ro-bind-try", "/proc/sysrq-trigger", "/proc/sysrq-trigger"]
        for system in SYSTEM_DIRS:
            path = Path(system)
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), system]
            elif path.is_dir():
                args += ["--ro-bind", system, system]
        # absolute: bwrap reads a relative destination from the new root, so a bind of
        # "." (a relative PYTHONPATH entry) would cover "/" and every later bind's parents
        covered = python_paths() + sorted({Path(p).absolute() for p in read_only})
        args += _binds(covered)
        args += _binds([Path(p).absolute() for p in writable], how="--bind")
        args += _mounts(mounts, read_only=[*map(Path, SYSTEM_DIRS), *covered])
        args += ["--chdir", str(workdir), "--"]
        if identity is not None:
            assert self.setpriv is not None
            args += [self.setpriv, f"--reuid={identity.uid}", f"--regid={identity.gid}"]
            args += ["--clear-groups", "--inh-caps=-all", "--bounding-set=-all"]
            args += ["--no-new-privs", "--"]
        if self.seccomp:
            args += [*helper("unkai.platform.runners.syscalls"), "--"]
        return args + list(argv)


def _binds(paths: Iterable[Path], *, how: str = "--ro-bind") -> list[str]:
    """bwrap arguments binding each of ``paths`` (read-only, unless ``how`` says
    ``--bind``) where it is, once, under parents anyone may pass (bwrap would make them
    mode 0700, closed to the function)."""
    args: list[str] = []
    made: set[Path] = {Path("/"), Path("/tmp")}
    bound: list[Path] = []
    for path in paths:
        if any(path.is_relative_to(done) for done in bound):
            continue  # seen already through an earlier bind
        for parent in reversed(path.parents):
            if parent not in made:
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        args += [how, str(path), str(path)]
        bound.append(path)
    return args


def _mounts(mounts: Sequence[Bind], *, read_only: Sequence[Path]) -> list[str]:
    """bwrap arguments for ``mounts``, after the read-only binds (``read_only``: the
    system's, Python's, the bundle's): a target missing under one of them first gets a
    tmpfs over its nearest existing parent (with that parent's entries bound back,
    read-only), as bwrap cannot make a mount point in a read-only bind, and the
    target's missing parents are made open to any user."""
    args: list[str] = []
    spliced: set[Path] = set()
    made: set[Path] = set()
    for mount in mounts:
        parent = Path(mount.target)
        while not parent.exists():
            parent = parent.parent
        parent = parent.resolve()
        bound = any(parent.is_relative_to(path) for path in read_only)
        if bound and parent != Path(mount.target) and parent not in spliced:
            args += ["--tmpfs", str(parent)]
            for entry in sorted(parent.iterdir()):
                if entry.is_symlink():
                    args += ["--symlink", os.readlink(entry), str(entry)]
                else:
                    args += ["--ro-bind-try", str(entry), str(entry)]
            spliced.add(parent)
        for above in reversed(Path(mount.target).parents[:-1]):  # not "/"
            if above not in made:  # bwrap would make a missing one mode 0700
                args += ["--perms", "0755", "--dir", str(above)]
                made.add(above)
        if mount.source is None:
            size = [] if mount.size is None else ["--size", str(mount.size)]
            args += ["--perms", "1777", *size, "--tmpfs", mount.target]
        else:
            how = "--bind" if mount.writable else "--ro-bind"
            args += [how, str(mount.source), mount.target]
    return args


def python_paths() -> list[Path]:
    """The interpreter's installation, its venv, where Unkai's code is imported from (an
    editable checkout's ``src``) and the platform's own ``PYTHONPATH``: what every zygote
    and helper imports. Not all of ``sys.path``: its first entry is the directory of
    whatever script started the platform."""
    candidates = {Path(sys.base_prefix), Path(sys.prefix), Path(unkai.__file__).parent.parent}
    candidates |= {Path(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
    existing = sorted(path.resolve() for path in candidates if path.exists())
    kept: list[Path] = []
    for path in existing:  # sorted: a parent comes before what it holds
        if path.is_dir() and not any(path.is_relative_to(parent) for parent in kept):
            kept.append(path)
    return [path for path in kept if not any(path.is_relative_to(s) for s in SYSTEM_DIRS)]
