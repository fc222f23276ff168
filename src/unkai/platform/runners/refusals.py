"""What the process runner cannot run as a Revision asks, and the status that says so.

Pure: the runner refuses before starting anything, and the reason reaches the
revision's status instead of the field being accepted and ignored.
"""

from __future__ import annotations

from unkai.platform.contracts import Reason
from unkai.platform.runners.spec import InstanceSpec


def refusal(spec: InstanceSpec, *, sandboxed: bool = False) -> tuple[str, str] | None:
    """Why the process runner cannot run ``spec`` as asked (reason, message), or ``None``.

    Volume mounts need the sandbox's mount namespace (``sandboxed``: the zygote runs in
    the sandbox, which binds them). In the sandbox an ``exec`` probe is refused: it
    would run outside the instance's namespaces (another ``/tmp``, no route to the
    instance's port), so its answer would not be about the instance."""
    if spec.command or spec.args:
        return Reason.UNSUPPORTED_BY_RUNNER, (
            "command and args cannot apply to a function bundle: the process runner starts"
            " Unkai's function runtime; build an image to choose the entrypoint"
        )
    if spec.mounts and not sandboxed:
        paths = ", ".join(mount.mount_path for mount in spec.mounts)
        return Reason.UNSUPPORTED_BY_RUNNER, (
            f"the process runner cannot mount volumes at {paths}: that needs the instance"
            " sandbox's mount namespace, which these instances do not have (the sandbox is"
            " off, or they are spawned); run an image with the container runner instead"
        )
    probes = [probe for probe in (spec.readiness, spec.liveness) if probe is not None]
    if sandboxed and any(probe.handler == "exec" for probe in probes):
        return Reason.UNSUPPORTED_BY_RUNNER, (
            "exec probes cannot run in the process runner's sandbox yet (they would not see"
            " the instance's files or port): use an httpGet or tcpSocket probe, or run an"
            " image with the container runner"
        )
    return None
