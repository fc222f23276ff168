"""The sandbox of a platform that is not root (issue 13): run by ``nobody`` (through
util-linux's ``setpriv``), the process runner still sandboxes its instances, in a user
namespace where they keep that user's uid; they see none of the platform's files and
only their own processes, and the seccomp filter holds. What it cannot have (cgroups,
which need root here) it says, and only that.

Needs root to switch to ``nobody``, and bubblewrap; skips where unprivileged user
namespaces are refused (then the runner says it cannot isolate, as its gaps show).
"""

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]


@pytest.fixture
def nobodys_folder() -> Iterator[Path]:
    if os.geteuid() != 0 or shutil.which("setpriv") is None or shutil.which("bwrap") is None:
        pytest.skip("needs root (to become nobody), setpriv and bwrap")
    folder = Path(tempfile.mkdtemp(prefix="unkai-nobody-"))
    nobody = pwd.getpwnam("nobody")
    os.chown(folder, nobody.pw_uid, nobody.pw_gid)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def python() -> tuple[str, str]:
    """An interpreter ``nobody`` can run (the test's own may live in root's home), and
    the ``PYTHONPATH`` that gives it this test run's packages and Unkai."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = Path("/usr/bin") / version
    if not system.exists():
        pytest.skip(f"no {system} for nobody to run (same version as the test's packages)")
    packages = [p for p in sys.path if p.endswith("site-packages") and p.startswith(sys.prefix)]
    return str(system), os.pathsep.join([*packages, str(ROOT / "src"), str(ROOT)])


def test_an_unprivileged_platform_still_sandboxes_its_instances(
    nobodys_folder: Path, python: tuple[str, str]
) -> None:
    nobody = pwd.getpwnam("nobody")
    interpreter, python_path = python
    ran = subprocess.run(
        ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups",
         interpreter, "-m", "tests.runners.unprivileged", str(nobodys_folder)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": os.environ["PATH"], "HOME": str(nobodys_folder), "LANG": "C.UTF-8",
             "PYTHONPATH": python_path},
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout.splitlines()[-1])
    if any("not isolated" in gap for gap in report["gaps"]):
        pytest.skip(f"this machine refuses the sandbox to unprivileged users: {report['gaps']}")

    assert [gap.split(":")[0] for gap in report["gaps"]] == [
        "memory, CPU and process limits are not enforced"
    ]
    assert report["whoami"]["uid"] == nobody.pw_uid  # its own, in a user namespace
    assert report["whoami"]["no_new_privs"] == "1"
    assert max(report["whoami"]["pids"]) < 100  # its own pid namespace
    token = str(nobodys_folder / "token")
    assert report["read"] == {token: "FileNotFoundError"}  # there, but not in the sandbox
    assert report["unshare"] == {"unshare": "EPERM", "thread": "done"}
