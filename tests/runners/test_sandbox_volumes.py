"""A bundle's volumes in the process runner's sandbox, run through real bubblewrap:
where they may be mounted (anywhere, even under the read-only ``/etc``), with a
``subPath``, read-only or not, and what is refused without the sandbox."""

import subprocess
from pathlib import Path

import pytest

from unkai.platform.contracts import Reason
from unkai.platform.runners import volumes
from unkai.platform.runners.base import RunnerError
from unkai.platform.runners.refusals import refusal
from unkai.platform.runners.sandbox import Sandbox, binds
from unkai.platform.runners.spec import InstanceSpec, Mount


def spec(tmp_path: Path, *mounts: Mount) -> InstanceSpec:
    return InstanceSpec(
        namespace="default", revision="v-00001", configuration="v", service="v",
        mounts=mounts, volumes_dir=tmp_path / "volumes",
    )  # fmt: skip


def run(sandbox: Sandbox, script: str, tmp_path: Path, *mounts: Mount) -> str:
    identity = sandbox.identity("default", uid=None, gid=None)
    command = sandbox.command(
        ["/bin/sh", "-c", script], identity=identity, read_only=(), workdir=Path("/"),
        mounts=binds(spec(tmp_path, *mounts)),
    )  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_volumes_are_mounted_under_read_only_system_directories(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    volumes.write(tmp_path / "volumes" / "conf", {"greeting": (b"hello", 0o644)})
    volumes.write(tmp_path / "volumes" / "scratch", None)
    script = (
        "cat /etc/deep/er/greeting; echo; cat /etc/app.conf; echo;"
        " test -e /etc/passwd && echo passwd;"
        " echo x > /etc/deep/er/new 2>/dev/null || echo read-only;"
        " echo written > /var/scratch/f && cat /var/scratch/f"
    )
    seen = run(
        sandbox, script, tmp_path,
        Mount("conf", "/etc/deep/er", read_only=True),
        Mount("conf", "/etc/app.conf", read_only=True, sub_path="greeting"),
        Mount("scratch", "/var/scratch"),
    )  # fmt: skip
    assert seen.split() == ["hello", "hello", "passwd", "read-only", "written"]
    assert (tmp_path / "volumes" / "scratch" / "f").read_text() == "written\n"


def test_an_on_disk_size_limit_is_refused(tmp_path: Path) -> None:
    mount = Mount("scratch", "/data", size_limit="1Mi")
    with pytest.raises(RunnerError) as raised:
        binds(spec(tmp_path, mount))
    assert raised.value.reason == Reason.UNSUPPORTED_BY_RUNNER
    assert "sizeLimit at /data" in str(raised.value)


def test_mounts_are_refused_only_without_the_sandbox(tmp_path: Path) -> None:
    mounted = spec(tmp_path, Mount("conf", "/etc/conf", read_only=True))
    assert refusal(mounted, sandboxed=True) is None
    refused = refusal(mounted, sandboxed=False)
    assert refused is not None
    assert refused[0] == Reason.UNSUPPORTED_BY_RUNNER
    assert "cannot mount volumes at /etc/conf" in refused[1]
