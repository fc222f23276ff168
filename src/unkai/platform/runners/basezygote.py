"""The base zygote: the interpreter and the runtime imported once, forked into revisions'
zygotes that import only their function.

``python -m unkai.platform.runners.basezygote --control-fd N --fd-channel M [--sandboxed]``,
started by the process runner once per sandbox identity (a namespace's uid; once for
the whole platform when unsandboxed). It imports what every revision's zygote imports
(uvicorn, Starlette, pydantic, uvloop, the runtime: :data:`RUNTIME_MODULES`), freezes
the collector's view of it (``gc.freeze()``) and then only forks. A revision's zygote
forked from it shares those pages copy-on-write, where a zygote started on its own held
its private copy (~32 MiB PSS at zero; ``docs/benchmarks.md``, "Many services at zero").

Its control channel speaks the fork-server's JSON lines (``control``)::

    base -> platform   {"event": "ready", "pid": 12, "modules": ["uvicorn", ...]}
    platform -> base   {"op": "zygote", "id": "...", "dir": "/…/bundle", "env": {...},
                        "cwd": "/…/bundle", "grace": 30.0, "mounts": ["/…/bundle", ...],
                        "fds": 5, "name": "default/hello-00001"}
    base -> platform   {"event": "forked", "id": "...", "pid": 13}
                       {"event": "exited", "id": "...", "code": 0}
    platform -> base   {"op": "signal", "id": "...", "signal": 9}

with, just before a "zygote", its descriptors on the datagram channel: the new zygote's
own control and descriptor channels, its log file, and one detached read-only mount
(:func:`mounting.read_only_tree`) per entry of ``mounts``. The fork becomes that
revision's zygote (``zygote.serve``) after taking its environment, ``sys.path`` (its
``PYTHONPATH`` first, as an interpreter started with it would have) and working
directory. Sandboxed, the base has entered a user namespace of its own, where it holds
capabilities over its mounts; each fork first makes a mount namespace of its own with a
fresh ``/tmp``, attaches its mounts at their paths, then drops every capability and
loads the sandbox's seccomp filter (:mod:`.syscalls`), before any of the function's
code is imported: the function gets no more than a zygote started on its own.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import signal
import socket
import sys
import traceback
from pathlib import Path
from typing import Final, NoReturn

from unkai.platform.runners import control, mounting, zygote
from unkai.platform.runners.forkloop import ForkLoop

RUNTIME_MODULES: Final = (
    "unkai.runtime",
    "unkai.api.funcyaml_knative",
    "uvloop",
    "httptools",
    "uvicorn.loops.uvloop",
    "uvicorn.lifespan.on",
    "uvicorn.protocols.http.httptools_impl",
    "pydantic.alias_generators",
)
"""What a prepared hello function's zygote has imported beyond ``zygote``'s own imports."""
_FIXED_FDS: Final = 3  # control, descriptor channel, log; then the mounts


class Base(ForkLoop):
    """The blocking loop of a base zygote: forks revisions' zygotes, reports their exits."""

    def __init__(
        self, channel: socket.socket, fds: socket.socket, *, sandboxed: bool, seccomp: bool
    ) -> None:
        super().__init__(channel, fds)
        self._sandboxed = sandboxed
        self._seccomp = seccomp
        self._open = True
        self._python_path = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]

    def run(self) -> int:
        """Serve the channel until it closes; revisions' zygotes live on (they have
        channels of their own)."""
        self._listen_for_children()
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        gc.freeze()
        modules = sorted({name.partition(".")[0] for name in sys.modules})
        self._send({"event": "ready", "pid": os.getpid(), "modules": modules})
        while self._open:
            for key, _ in self._selector.select():
                if key.fileobj is self._channel:
                    self._receive()
                else:
                    self._woken()
            self._reap()
        return 0

    def _receive(self) -> None:
        try:
            data = self._channel.recv(1 << 20)
        except OSError:
            data = b""
        if not data:
            self._open = False
            return
        for message in self._lines.feed(data):
            if message["op"] == "zygote":
                self._fork(message)
            elif message["op"] == "signal" and message["id"] in self._pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self._pids[message["id"]], message["signal"])

    def _fork(self, request: control.Message) -> None:
        zygote_id = request["id"]
        _, fds, _, _ = socket.recv_fds(self._fds, 1, int(request["fds"]))
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as error:
            for fd in fds:
                os.close(fd)
            self._send({"event": "exited", "id": zygote_id, "code": -1, "error": str(error)})
            return
        if pid == 0:
            self._become_zygote(request, fds)
        for fd in fds:
            os.close(fd)
        self._forked(pid, zygote_id)
        self._send({"event": "forked", "id": zygote_id, "pid": pid})

    def _become_zygote(self, request: control.Message, fds: list[int]) -> NoReturn:
        code = zygote.EXIT_LOAD_FAILED
        own_channel, own_fds, log, *trees = fds
        try:
            os.setsid()
            zygote.title("zygote", request["name"], Path(request["dir"]))
            self._leave()
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.close(log)
            if self._sandboxed:
                targets = [Path(target) for target in request["mounts"]]
                _enter_mounts(targets, trees, seccomp=self._seccomp)
            self._take_environment(request["env"], request["cwd"])
            code = zygote.serve(
                Path(request["dir"]), control_fd=own_channel, fd_channel=own_fds,
                grace=float(request["grace"]),
            )  # fmt: skip
        except SystemExit as exiting:  # the function called sys.exit as it was imported
            traceback.print_exc()
            code = _exit_code(exiting)
        except BaseException:
            traceback.print_exc()
            with contextlib.suppress(OSError):
                failed = {"event": "failed", "error": "the zygote could not be set up"}
                os.write(own_channel, control.encode(failed))
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def _take_environment(self, env: dict[str, str], cwd: str) -> None:
        """The revision's environment, and the ``sys.path`` an interpreter started with its
        ``PYTHONPATH`` in ``cwd`` would have: the base's own ``PYTHONPATH`` entries and
        first entry give way to the revision's."""
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        if self._sandboxed:
            os.environ["PWD"] = cwd  # as bubblewrap's --chdir sets it for a zygote of its own
        theirs = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        rest = [p for p in sys.path[1:] if p not in self._python_path]
        sys.path[:] = [os.getcwd(), *theirs, *rest]
        importlib.invalidate_caches()


def _enter_mounts(targets: list[Path], trees: list[int], *, seccomp: bool) -> None:
    """A mount namespace of this zygote's own: a fresh ``/tmp``, each tree attached at its
    target, the directories made on the way read-only (as bubblewrap's are closed to the
    function); then no capability left and (``seccomp``) the seccomp filter on."""
    mounting.unshare(mounting.CLONE_NEWNS)
    tmp = Path("/tmp")
    mounting.mount_tmpfs(tmp)
    closed: set[Path] = set()
    for target, tree in zip(targets, trees, strict=True):
        made = target
        while not made.parent.exists():
            made = made.parent
        target.mkdir(parents=True, exist_ok=True)
        mounting.attach(tree, target)
        os.close(tree)
        closed.add(made if made.parent == tmp else made.parent)
    for path in sorted(closed, key=lambda p: len(p.parts), reverse=True):  # inner first
        mounting.read_only_in_place(path)
    mounting.drop_capabilities()
    if seccomp:
        from unkai.platform.runners import syscalls  # imported (libseccomp found) before

        syscalls.build().load()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m unkai.platform.runners.basezygote")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--fd-channel", type=int, required=True)
    parser.add_argument("--sandboxed", action="store_true")
    parser.add_argument("--seccomp", action="store_true")
    args = parser.parse_args(argv)
    if args.sandboxed:
        mounting.enter_user_namespace()
    if args.seccomp:
        importlib.import_module("unkai.platform.runners.syscalls")  # shared, not per fork
    for module in RUNTIME_MODULES:
        with contextlib.suppress(ImportError):  # uvloop and httptools are optional
            importlib.import_module(module)
    channel = socket.socket(fileno=args.control_fd)
    channel.setblocking(True)
    fds = socket.socket(fileno=args.fd_channel)
    fds.setblocking(True)
    return Base(channel, fds, sandboxed=args.sandboxed, seccomp=args.seccomp).run()


def _exit_code(exiting: SystemExit) -> int:
    """The status an interpreter of its own would have ended with on ``exiting``, so a
    zygote forked from the base fails as a started one does (the kubelet's reason is
    ``ExitCode<N>``): ``None`` is 0, an int itself, anything else printed and 1."""
    if exiting.code is None:
        return 0
    if isinstance(exiting.code, int):
        return exiting.code
    print(exiting.code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
