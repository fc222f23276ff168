"""Finding the cgroup hierarchy and writing an instance's limits, v2 and v1.

The machine's own hierarchy is exercised by ``test_sandbox.py`` (v1 on the CI machine);
here the other layout is laid out as plain files, as the kernel presents it: a
``/proc/self`` with ``cgroup`` and ``mountinfo``, and the mounted hierarchies' files.
What is checked is what the kernel would be told.
"""

from pathlib import Path

from unkai.platform.runners import cgroups
from unkai.platform.runners.limits import DEFAULT_PIDS, Limits

LIMITS = Limits(memory=96 * 2**20, cpu=0.5)


def fake_proc(tmp_path: Path, groups: str, mounts: list[str]) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "cgroup").write_text(groups)
    (proc / "mountinfo").write_text("".join(f"{i} 1 0:{i} {m}\n" for i, m in enumerate(mounts)))
    return proc


def test_v2_limits_go_to_the_unified_groups_files(tmp_path: Path) -> None:
    unified = tmp_path / "cgroup"
    (unified / "platform.slice").mkdir(parents=True)
    (unified / "platform.slice" / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    proc = fake_proc(
        tmp_path,
        "0::/platform.slice\n",
        [f"/ {unified} rw,nosuid - cgroup2 cgroup2 rw", "/ /proc rw - proc proc rw"],
    )

    hierarchy = cgroups.detect(proc=proc, name="unkai-test")
    assert hierarchy is not None
    group = hierarchy.create("hello-00001-abc", LIMITS)

    parent = unified / "platform.slice" / "unkai-test"
    assert (hierarchy.version, hierarchy.cpu) == (2, True)
    own = unified / "platform.slice" / "cgroup.subtree_control"  # handed down to ours
    assert own.read_text() == (parent / "cgroup.subtree_control").read_text()
    assert (parent / "cgroup.subtree_control").read_text() == "+memory +pids +cpu\n"
    directory = parent / "hello-00001-abc"
    assert group.directories == {"unified": directory}
    assert (directory / "memory.max").read_text() == f"{96 * 2**20}\n"
    assert (directory / "memory.swap.max").read_text() == "0\n"
    assert (directory / "cpu.max").read_text() == "50000 100000\n"
    assert (directory / "pids.max").read_text() == f"{DEFAULT_PIDS}\n"


def test_v1_uses_a_hierarchy_per_controller_under_the_platforms_own_group(
    tmp_path: Path,
) -> None:
    roots = {name: tmp_path / name for name in ("memory", "pids", "cpu,cpuacct")}
    for root in roots.values():
        root.mkdir()
    (roots["memory"] / "box").mkdir()
    proc = fake_proc(
        tmp_path,
        "9:pids:/\n4:memory:/box\n2:cpu,cpuacct:/\n0::/\n",
        [
            f"/ {roots['memory']} rw - cgroup cgroup rw,memory",
            f"/ {roots['pids']} rw - cgroup cgroup rw,pids",
            f"/ {roots['cpu,cpuacct']} rw - cgroup cgroup rw,cpu,cpuacct",
            f"/ {tmp_path / 'unified'} rw - cgroup2 cgroup2 rw",  # hybrid: no controllers
        ],
    )

    hierarchy = cgroups.detect(proc=proc, name="unkai-test")
    assert hierarchy is not None
    hierarchy.create("i", LIMITS)

    assert (hierarchy.version, hierarchy.cpu) == (1, True)
    memory = roots["memory"] / "box" / "unkai-test" / "i"
    assert (memory / "memory.limit_in_bytes").read_text() == f"{96 * 2**20}\n"
    assert (roots["pids"] / "unkai-test" / "i" / "pids.max").read_text() == f"{DEFAULT_PIDS}\n"
    cpu = roots["cpu,cpuacct"] / "unkai-test" / "i"
    assert (cpu / "cpu.cfs_quota_us").read_text() == "50000\n"


def test_without_memory_and_pids_there_is_no_hierarchy(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, "0::/\n", ["/ /proc rw - proc proc rw"])

    assert cgroups.detect(proc=proc, name="unkai-test") is None
