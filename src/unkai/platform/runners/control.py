"""The fork-server's control channel: JSON lines over a Unix socket pair.

The platform holds one end, the zygote the other (inherited as a file descriptor).
Messages, one JSON object per line::

    zygote -> platform   {"event": "ready", "pid": 123}                 after loading the function
                         {"event": "failed", "error": "..."}            could not load it; exits 2
    platform -> zygote   {"op": "fork", "id": "hello-00001-3fa2c1", "fds": 4,
                          "tcp": false, "port": 8080, "name": "default/hello-00001-3fa2c1"}
    zygote -> platform   {"event": "forked", "id": "...", "pid": 124, "port": 40123}
                         {"event": "fork-failed", "id": "...", "error": "..."}
    platform -> zygote   {"op": "signal", "id": "...", "signal": 15}    to the instance's group
    zygote -> platform   {"event": "exited", "id": "...", "code": 0}    as Popen.returncode

Just before a "fork", the platform sends the instance's ``fds`` descriptors as one
datagram on a second socket pair (``SCM_RIGHTS``): its log file, its listening Unix
socket, the write end of a pipe on which the instance writes one byte once its
function has started (its *started* pipe: :data:`READY`, or :data:`PROBE` when its
readiness did not pass then), then the ``tasks`` or ``cgroup.procs`` files it joins.
With ``tcp`` the zygote also binds a loopback port (reported as ``port``, and the
child's ``PORT``); without, ``PORT`` is the request's ``port``. ``name`` is the
instance's title in ``ps`` (``zygote.title``).

Signals go through the zygote because it is the instances' parent: until it has reaped
a child, that pid cannot be reused, so a signal never reaches a stranger. When the
platform's end closes (``retire``, or the platform died), the zygote stops its
instances (SIGTERM, then SIGKILL after the grace period) and exits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Final

Message = dict[str, Any]
READY: Final = b"r"
"""On the started pipe: serving, and readiness passes (no start probe needed)."""
PROBE: Final = b"p"
"""On the started pipe: serving, but readiness did not pass yet: probe as usual."""


def encode(message: Message) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


class Lines:
    """Splits a byte stream into decoded messages, keeping an incomplete last line."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> Iterator[Message]:
        *complete, self._buffer = (self._buffer + data).split(b"\n")
        for line in complete:
            if line.strip():
                yield json.loads(line)
