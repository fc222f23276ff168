"""What a zygote and a base zygote have in common: a blocking loop that forks children
on the platform's request and reports how each ended.

Forking is only safe from a process with one thread and no running event loop, so both
are plain loops over ``selectors``: the control channel (requests in, events out, see
``control``), a datagram channel that brings the descriptors a fork needs, and a pipe
SIGCHLD writes to (``signal.set_wakeup_fd``) so that the loop wakes and reaps. The
children are kept by the platform's id for them (an instance's, or a revision zygote's),
so a "signal" request can name one and each exit is reported under that id.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
from types import FrameType

from unkai.platform.runners import control


class ForkLoop:
    """The channels, the children by id, and the wake-up pipe of a forking loop."""

    def __init__(self, channel: socket.socket, fds: socket.socket) -> None:
        self._channel = channel
        self._fds = fds
        self._children: dict[int, str] = {}  # pid → the platform's id for the child
        self._pids: dict[str, int] = {}
        self._lines = control.Lines()
        self._wakeup_r, self._wakeup_w = os.pipe()
        os.set_blocking(self._wakeup_r, False)
        os.set_blocking(self._wakeup_w, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(channel, selectors.EVENT_READ)
        self._selector.register(self._wakeup_r, selectors.EVENT_READ)

    def _listen_for_children(self) -> None:
        """SIGCHLD only wakes the loop; :meth:`_reap` does the work."""
        signal.set_wakeup_fd(self._wakeup_w)
        signal.signal(signal.SIGCHLD, _wake_only)

    def _woken(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self._wakeup_r, 4096):
                pass

    def _forked(self, pid: int, child_id: str) -> None:
        self._children[pid] = child_id
        self._pids[child_id] = pid

    def _leave(self) -> None:
        """In a child just forked: the loop's descriptors and its SIGCHLD wake-up are the
        parent's business, not the child's."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self._selector.close()
        self._channel.close()
        self._fds.close()
        os.close(self._wakeup_r)
        os.close(self._wakeup_w)

    def _reap(self) -> None:
        """Every child that has ended, reported with its exit status (negative: the signal)."""
        while self._children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child_id = self._children.pop(pid, None)
            if child_id is not None:
                del self._pids[child_id]
                code = os.waitstatus_to_exitcode(status)
                self._send({"event": "exited", "id": child_id, "code": code})

    def _send(self, message: control.Message) -> None:
        with contextlib.suppress(OSError):  # the platform is gone: we are stopping anyway
            self._channel.sendall(control.encode(message))


def _wake_only(signum: int, frame: FrameType | None) -> None:
    """A handler must exist for the wakeup fd to be written; the loop does the work."""
