"""A sandboxed zygote's network: a namespace of its own, with outbound access only.

Run as ``python -m unkai.platform.runners.network SLIRP4NETNS UNSHARE [--userns] --
BWRAP ARGS…`` (what :meth:`~unkai.platform.runners.sandbox.Sandbox.command` builds when
asked for a network). It starts bubblewrap in a new network namespace (util-linux's
``unshare --net``, with ``--user`` too for an unprivileged platform), holding the
sandboxed command back (bubblewrap's ``--block-fd``) until **slirp4netns** (Debian's
``slirp4netns``, what rootless podman uses) has given the namespace its loopback and a
TAP device with a user-mode NAT behind it; then lets it go, forwards termination
signals and exits with its status. slirp4netns ends with this process (``--exit-fd``).
The namespace is made outside bubblewrap (not with its ``--unshare-net``) because
bubblewrap then sets up the loopback itself, racing slirp4netns' own setup of it.

What that gives a function: it can open connections out (to the internet, to other
machines, to this machine's non-loopback addresses), as a pod can; it cannot reach the
machine's loopback (``--disable-host-loopback``: not the API server, not a database
listening on 127.0.0.1, not other instances), and whatever it listens on, nobody outside
can connect to: the gateway reaches it only through the Unix socket the platform hands
it. The namespace costs one slirp4netns process per revision's zygote, not per
instance, and about 20 ms when the zygote starts; forks share it.

Kept out of the platform's process on purpose: bubblewrap reports that it started on a
pipe that must stay open across the start, and the fork-server that starts the zygote
passes only its own channels.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from types import FrameType
from typing import Final

TAP: Final = "tap0"
MTU: Final = 65520  # slirp4netns' recommended MTU: far faster than 1500 through user-mode NAT


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    separator = args.index("--")
    slirp, unshare, options, bwrap = args[0], args[1], args[2:separator], args[separator + 1 :]
    userns = "--userns" in options
    inherited = _open_fds()  # the zygote's channels: passed on, then let go of here
    info_r, info_w = os.pipe()
    block_r, block_w = os.pipe()
    command = [unshare, "--net", *(["--user", "--map-current-user"] if userns else [])]
    command += [bwrap[0], "--info-fd", str(info_w), "--block-fd", str(block_r), *bwrap[1:]]
    sandbox = subprocess.Popen(command, pass_fds=(*inherited, info_w, block_r))
    for fd in (*inherited, info_w, block_r):
        os.close(fd)
    forward = _forwarding(sandbox)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    # bubblewrap (which unshare became, in the new namespace) has started: it says so
    started = _start_slirp(slirp, sandbox.pid, userns=userns) if _started(info_r) else None
    if started is None:
        sandbox.kill()
        sandbox.wait()
        return 1
    slirp_process, stop = started
    os.write(block_w, b"go")
    os.close(block_w)
    code = sandbox.wait()
    os.close(stop)  # slirp4netns' --exit-fd: it ends now (and would if this were killed)
    slirp_process.wait()
    return code if code >= 0 else 128 - code


def _start_slirp(
    slirp: str, pid: int, *, userns: bool
) -> tuple[subprocess.Popen[bytes], int] | None:
    """slirp4netns configuring the namespace of ``pid`` and the descriptor whose closing
    stops it, or ``None`` (said on stderr, which is the zygote's log) when it could not."""
    ready_r, ready_w = os.pipe()
    exit_r, exit_w = os.pipe()
    namespace = [str(pid)]
    if userns:  # an unprivileged platform: slirp4netns joins the namespace's owner too
        namespace = [f"--userns-path=/proc/{pid}/ns/user", "--netns-type=path",
                     f"/proc/{pid}/ns/net"]  # fmt: skip
    process = subprocess.Popen(
        [slirp, "--configure", f"--mtu={MTU}", "--disable-host-loopback",
         "--ready-fd", str(ready_w), "--exit-fd", str(exit_r),
         *namespace, TAP],
        pass_fds=(ready_w, exit_r), stdout=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(ready_w)
    os.close(exit_r)
    with os.fdopen(ready_r, "rb") as ready:
        if ready.read(1) == b"1":
            return process, exit_w
    process.wait()
    code = process.returncode
    sys.stderr.write(f"unkai: slirp4netns could not give the sandbox a network ({code})\n")
    return None


def _started(info: int) -> bool:
    """Whether bubblewrap wrote its ``--info-fd`` JSON (it has made its namespaces)."""
    decoder = json.JSONDecoder()
    text = ""
    with os.fdopen(info, "rb") as stream:
        while chunk := stream.read1(4096):
            text += chunk.decode()
            with contextlib.suppress(ValueError):
                decoder.raw_decode(text)
                return True
    return False


def _open_fds() -> list[int]:
    """The descriptors above stderr this process was started with."""
    listed = [int(name) for name in os.listdir("/proc/self/fd") if int(name) > 2]
    found = []
    for fd in listed:
        with contextlib.suppress(OSError):  # the listing's own, closed by now
            os.fstat(fd)
            found.append(fd)
    return found


def _forwarding(sandbox: subprocess.Popen[bytes]) -> Callable[[int, FrameType | None], None]:
    def forward(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(ProcessLookupError):
            sandbox.send_signal(signum)

    return forward


if __name__ == "__main__":
    sys.exit(main())
