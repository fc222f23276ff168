"""One try of a probe, and the start probe: as aggressive as queue-proxy's.

An HTTP try is a bare ``GET`` over a fresh connection whose status line is all that is
read, so a try costs well under a millisecond; 200–399 passes (the kubelet's rule),
anything else (refused, 503 while starting or draining) does not. A TCP try passes once
a connection is accepted; an ``exec`` try once the command exits 0 (run through the
runner's ``exec`` prefix: ``podman exec <name>`` for a container, nothing for a process,
which runs with the instance's environment). With the fork-server the listening socket
exists before the instance does, so the first start try simply waits in the accept
queue and is answered the moment the instance serves: the generous per-try timeout is
what lets it wait instead of giving up.

A ``grpc`` try is the standard health check (``grpcprobe``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from unkai.platform.runners import grpcprobe
from unkai.platform.runners.probing import Probe

INTERVAL: Final = 0.01
EXEC_INTERVAL: Final = 0.05
TRY_TIMEOUT: Final = 1.0


@dataclass(frozen=True)
class Target:
    """Where and how an instance is probed: its port (or Unix socket), and for ``exec``
    the command prefix and environment."""

    port: int
    host: str = "127.0.0.1"
    unix: Path | None = None
    exec_prefix: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    cwd: str | None = None


async def until_ready(probe: Probe, target: Target) -> None:
    """Return once a try passes, trying again every 10 ms (50 ms for ``exec``), each try
    with a generous timeout. The caller bounds the wait."""
    interval = EXEC_INTERVAL if probe.handler == "exec" else INTERVAL
    while True:
        passed, _ = await attempt(probe, target, limit=max(probe.timeout, TRY_TIMEOUT))
        if passed:
            return
        await asyncio.sleep(interval)


async def attempt(probe: Probe, target: Target, *, limit: float) -> tuple[bool, str]:
    """One try: whether it passed, and if not, why (for the revision's status)."""
    try:
        async with asyncio.timeout(limit):
            if probe.handler == "exec":
                return await _exec(probe, target)
            if probe.handler == "grpc":
                return await grpcprobe.check(
                    probe.service, host=target.host, port=target.port, unix=target.unix
                )
            return await _connect(probe, target)
    except TimeoutError:
        return False, f"{probe.describe()}: no answer within {limit:g}s"
    except OSError as error:
        return False, f"{probe.describe()}: {error.strerror or error}"


async def _connect(probe: Probe, target: Target) -> tuple[bool, str]:
    if target.unix is not None:
        reader, writer = await asyncio.open_unix_connection(target.unix)
    else:
        reader, writer = await asyncio.open_connection(target.host, target.port)
    try:
        if probe.handler != "httpGet":
            return True, ""
        head = f"GET {probe.path} HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in probe.headers)
        writer.write(f"{head}User-Agent: kube-probe/unkai\r\nConnection: close\r\n\r\n".encode())
        status_line = await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    parts = status_line.split()
    if len(parts) >= 2 and parts[1].isdigit() and 200 <= int(parts[1]) < 400:
        return True, ""
    status = parts[1].decode(errors="replace") if len(parts) >= 2 else "no status line"
    return False, f"HTTP probe failed with statuscode: {status}"


async def _exec(probe: Probe, target: Target) -> tuple[bool, str]:
    process = await asyncio.create_subprocess_exec(
        *target.exec_prefix,
        *probe.command,
        env=None if target.env is None else dict(target.env),
        cwd=target.cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await process.communicate()
    except BaseException:  # timed out or cancelled: leave no process behind
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    if process.returncode == 0:
        return True, ""
    said = output.decode(errors="replace").strip()
    return False, f"{probe.describe()} exited with {process.returncode}" + (
        f": {said}" if said else ""
    )
