"""A volume mounted inside a read-only bind that is not a system directory (the
function's own bundle, say ``<bundle>/conf``): bubblewrap cannot make a mount point in a
read-only bind, so the sandbox lays a tmpfs over the nearest existing directory with its
entries bound back, as it does under ``/etc``. Run through real bubblewrap."""

import subprocess
from pathlib import Path

from unkai.platform.runners import volumes
from unkai.platform.runners.sandbox import Sandbox, binds
from unkai.platform.runners.spec import InstanceSpec, Mount


def test_volumes_mount_inside_the_read_only_bundle(sandbox: Sandbox, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "pkg").mkdir(parents=True)
    (bundle / "func.py").write_text("code")
    (bundle / "pkg" / "data.txt").write_text("data")
    volumes.write(tmp_path / "volumes" / "conf", {"greeting": (b"hello", 0o644)})
    volumes.write(tmp_path / "volumes" / "scratch", None)
    spec = InstanceSpec(
        namespace="default", revision="v-00001", configuration="v", service="v",
        volumes_dir=tmp_path / "volumes", mounts=(
            Mount("conf", str(bundle / "conf"), read_only=True),
            Mount("conf", str(bundle / "pkg" / "deep" / "conf"), read_only=True),
            Mount("scratch", str(bundle / "scratch")),
        ),
    )  # fmt: skip
    script = (
        f"cd {bundle}; cat conf/greeting pkg/deep/conf/greeting func.py pkg/data.txt; echo;"
        " echo x > func.py 2>/dev/null || echo code-read-only;"
        " echo x > new 2>/dev/null || echo no-new-files;"
        " echo written > scratch/f && cat scratch/f"
    )
    command = sandbox.command(
        ["/bin/sh", "-c", script], identity=sandbox.identity("default", uid=None, gid=None),
        read_only=[bundle], workdir=Path("/"), mounts=binds(spec),
    )  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "hellohellocodedata",
        "code-read-only",
        "no-new-files",
        "written",
    ]
    assert not (bundle / "conf").exists()  # nothing was made in the bundle itself
    assert (tmp_path / "volumes" / "scratch" / "f").read_text() == "written\n"
