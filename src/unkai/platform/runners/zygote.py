"""The fork-server: a prepared function that forks ready-to-serve instances on request.

``python -m unkai.platform.runners.zygote DIR --control-fd N --grace SECONDS``, started by
the process runner once per active revision with the revision's environment (the
requirements' site on ``PYTHONPATH``, the ``K_*`` variables, the container's ``env``).
It applies ``func.yaml``'s env, calls :func:`unkai.runtime.prepare` once, and then
answers the control channel (see ``control``): each "fork" comes with open file
descriptors from the platform (on a second, datagram socket: ``--fd-channel``): the
instance's log file, its listening Unix socket (the gateway's way in), the write end of
its *started* pipe and the ``tasks`` (or ``cgroup.procs``) files of its control groups.
Unless the instance is sandboxed, the zygote also binds a socket on ``127.0.0.1:0``
(the contract's ``PORT``). It forks; the child joins its groups, then serves, and
writes one byte to the started pipe once the function has started: the platform
hears it is ready without polling it (``docs/architecture.md``, "Cold start is a
fork"). A sandboxed zygote (see ``sandbox``) sees neither the logs nor the socket
directory: descriptors are all it gets.

Forking is only safe from a process with one thread and no running event loop, so the
zygote is a plain blocking loop over ``selectors``; SIGCHLD and SIGTERM only wake it up
(``signal.set_wakeup_fd``) and the loop reaps children and reports their exit statuses.
Each child gets its own process group, default signal handlers, its own log file on
stdout and stderr, and its port in ``PORT``. Code that reads ``PORT`` while the module
is imported sees none: the zygote does not know the port yet.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import signal
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import Final, NoReturn

import setproctitle

from unkai.platform.runners import control
from unkai.platform.runners.forkloop import ForkLoop
from unkai.runtime import (
    LoadError,
    Prepared,
    PreparedGrpc,
    lifeline,
    load_spec,
    logs,
    prepare,
    warm,
)
from unkai.runtime.environment import environment

EXIT_LOAD_FAILED: Final = 2
_BACKLOG: Final = 2048


class Zygote(ForkLoop):
    """The blocking loop of a zygote that has prepared its function."""

    def __init__(
        self,
        prepared: Prepared | PreparedGrpc,
        channel: socket.socket,
        fds: socket.socket,
        *,
        directory: Path,
        grace: float,
    ) -> None:
        super().__init__(channel, fds)
        self._prepared = prepared
        self._directory = directory
        self._grace = grace
        self._pid = os.getpid()
        self._stopping_since: float | None = None

    def run(self) -> int:
        """Serve the control channel until it closes and every child has been reaped."""
        self._listen_for_children()
        signal.signal(signal.SIGTERM, self._on_sigterm)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the platform decides when we stop
        gc.freeze()  # what is prepared stays shared: the collector won't touch (copy) it
        self._send({"event": "ready", "pid": os.getpid()})
        while self._stopping_since is None or self._children:
            for key, _ in self._selector.select(self._timeout()):
                if key.fileobj is self._channel:
                    self._receive()
                else:
                    self._woken()
            self._reap()
            if self._stopping_since is not None and self._past_grace():
                self._signal_all(signal.SIGKILL)
        return 0

    def _receive(self) -> None:
        try:
            data = self._channel.recv(65536)
        except OSError:
            data = b""  # a broken channel ends like a closed one
        if not data:
            self._selector.unregister(self._channel)
            self._stop()
            return
        for message in self._lines.feed(data):
            if message["op"] == "fork":
                self._fork(message)
            elif message["op"] == "signal" and message["id"] in self._pids:
                _kill_group(self._pids[message["id"]], message["signal"])

    def _fork(self, request: control.Message) -> None:
        instance_id = request["id"]
        if threading.active_count() > 1:
            logs.log.warning("forking with %d threads running", threading.active_count())
        log_fd, unix, started, *groups = _received(self._fds, int(request["fds"]))
        listeners = [socket.socket(fileno=unix)]
        port = int(request.get("port", 0))
        if request.get("tcp"):
            try:
                listeners.insert(0, socket.create_server(("127.0.0.1", 0), backlog=_BACKLOG))
            except OSError as error:
                _close_all(listeners, log_fd, started, *groups)
                self._send({"event": "fork-failed", "id": instance_id, "error": str(error)})
                return
            port = listeners[0].getsockname()[1]
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as error:
            pid = -1
            self._send({"event": "fork-failed", "id": instance_id, "error": str(error)})
        if pid == 0:
            name = str(request.get("name", instance_id))
            self._become_instance(name, listeners, port, log_fd, groups, started)
        _close_all(listeners, log_fd, started, *groups)
        if pid < 0:
            return
        # Both sides set the group, so it exists whichever runs first; the child may
        # have done it already (and even exited).
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)
        self._forked(pid, instance_id)
        self._send({"event": "forked", "id": instance_id, "pid": pid, "port": port})

    def _become_instance(
        self,
        name: str,
        listeners: list[socket.socket],
        port: int,
        log_fd: int,
        groups: list[int],
        started: int,
    ) -> NoReturn:
        code = 1
        try:
            title("instance", name, self._directory)
            for group in groups:  # first: whatever it runs or starts is counted and limited
                os.write(group, b"0")
                os.close(group)
            os.setpgid(0, 0)
            # A zygote killed outright (it drains its children on any other stop)
            # takes them along instead of leaving them serving.
            lifeline.die_with_parent(signal.SIGKILL, parent=self._pid)
            self._leave()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            os.dup2(log_fd, 1)
            os.dup2(log_fd, 2)
            os.close(log_fd)
            os.environ["PORT"] = str(port)
            code = self._prepared.serve(
                *listeners, started=lambda ready: _tell_started(started, ready)
            )
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._stopping_since is None:
            self._stopping_since = time.monotonic()
            self._signal_all(signal.SIGTERM)

    def _signal_all(self, signum: int) -> None:
        for pid in self._children:
            _kill_group(pid, signum)

    def _timeout(self) -> float | None:
        """How long to wait for something to happen: forever, unless stopping."""
        if self._stopping_since is None:
            return None
        return max(0.05, self._stopping_since + self._grace - time.monotonic())

    def _past_grace(self) -> bool:
        assert self._stopping_since is not None
        return time.monotonic() >= self._stopping_since + self._grace


def _received(channel: socket.socket, count: int) -> list[int]:
    """The ``count`` descriptors the platform sent (just before the request) for a fork."""
    _, fds, _, _ = socket.recv_fds(channel, 1, count)
    if len(fds) != count:
        raise RuntimeError(f"expected {count} descriptors from the platform, got {len(fds)}")
    return fds


def _tell_started(fd: int, ready: bool) -> None:
    """One byte on the started pipe, then close it: ``r`` ready, ``p`` started but not
    ready yet (probe it); end-of-file when the instance died before it started."""
    try:
        os.write(fd, control.READY if ready else control.PROBE)
    finally:
        os.close(fd)


def _close_all(listeners: list[socket.socket], *fds: int) -> None:
    for listener in listeners:
        listener.close()
    for fd in fds:
        os.close(fd)


def _kill_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)


def title(kind: str, name: str, directory: Path) -> None:
    """Title this process ``unkai KIND NAME DIRECTORY`` in ``ps`` (``/proc/PID/cmdline``),
    so an operator sees which revision it serves: a zygote forked from the base would
    show the base's command line, an instance its zygote's. Set before the function's
    code runs (which may retitle itself), and in a forked zygote before its environment
    is replaced: ``setproctitle`` finds the argv it overwrites by walking from the C
    ``environ``, which ``os.environ.clear()`` empties. The title takes the memory of
    argv *and* environ: ``/proc/PID/environ`` then reads as nothing
    (``docs/runners.md``, "Process titles")."""
    setproctitle.setproctitle(f"unkai {kind} {name} {directory}")


def main(argv: list[str] | None = None) -> int:
    """Load the function, report to the platform, and fork instances until told to stop."""
    parser = argparse.ArgumentParser(prog="python -m unkai.platform.runners.zygote")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--fd-channel", type=int, required=True)
    parser.add_argument("--grace", type=float, default=30.0)
    parser.add_argument("--name", default=os.environ.get("K_REVISION", "-"))
    args = parser.parse_args(argv)
    title("zygote", args.name, args.directory)
    return serve(args.directory, control_fd=args.control_fd, fd_channel=args.fd_channel,
                 grace=args.grace)  # fmt: skip


def serve(directory: Path, *, control_fd: int, fd_channel: int, grace: float) -> int:
    """Prepare the function in ``directory`` and answer the channels until told to stop:
    the zygote's life, started on its own or forked from a base (``basezygote``)."""
    logs.configure()
    channel = socket.socket(fileno=control_fd)
    channel.setblocking(True)
    fds = socket.socket(fileno=fd_channel)
    fds.setblocking(True)
    try:
        spec = load_spec(directory)
        os.environ.update(environment(spec, os.environ))
        prepared = prepare(directory, spec=spec, host="127.0.0.1", port=0)
        warm(prepared)  # what every child's first request runs is specialised once, here
    except LoadError as error:
        logs.log.error("cannot load the function: %s", error, exc_info=error.__cause__)
        channel.sendall(control.encode({"event": "failed", "error": str(error)}))
        return EXIT_LOAD_FAILED
    return Zygote(prepared, channel, fds, directory=directory, grace=grace).run()


if __name__ == "__main__":
    raise SystemExit(main())
