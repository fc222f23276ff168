"""Revisions' zygotes forked from a base zygote: shared, restarted, sandboxed as before,
and not used where a revision's requirements would replace what the base imported."""

import asyncio
import os
import signal
from pathlib import Path

import httpx2
import psutil
import pytest
from tests.runners.conftest import MakeSpec, call, sandboxed_runner
from tests.support.wheels import make_wheel

from unkai.platform.bundles import BundleStore, pack
from unkai.platform.runners import Instance, InstanceSpec, LogFiles, ProcessRunner
from unkai.platform.runners.bases import own_zygote_reason, provided_modules

pytestmark = pytest.mark.anyio

PROBE = '''"""Says what this process may do and which dateutil it imported."""
import ctypes
import os


def handle(request):
    status = dict(
        line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines()
        if ":\\t" in line
    )
    libc = ctypes.CDLL(None, use_errno=True)
    unshared = libc.unshare(0x00020000)  # a mount namespace of its own
    import dateutil
    return {
        "caps": [status[name].strip() for name in ("CapInh", "CapPrm", "CapEff", "CapBnd")],
        "no_new_privs": status["NoNewPrivs"].strip(),
        "seccomp": status["Seccomp"].strip(),
        "unshare": [unshared, ctypes.get_errno()],
        "dateutil": getattr(dateutil, "MARK", "the platform's"),
        "pid": os.getpid(),
        "ppid": os.getppid(),
    }
'''
REPLACED_DATEUTIL = '''"""The function's own dateutil, over the platform's (for its submodules)."""
import os
import sys

MARK = "the function's"
for entry in sys.path:
    candidate = os.path.join(entry, "dateutil")
    if os.path.isdir(candidate) and candidate != os.path.dirname(__file__):
        __path__.append(candidate)
'''


def probe_spec(tmp_path: Path, name: str, *, replaces: bool = False, **fields: str) -> InstanceSpec:
    function = tmp_path / name
    function.mkdir()
    (function / "func.py").write_text(PROBE)
    (function / "func.yaml").write_text(f"name: {name}\nsignature: http\n")
    if replaces:
        (function / "wheels").mkdir()
        wheel = make_wheel(
            function / "wheels", name="dateutil", version="99.0", module_source=REPLACED_DATEUTIL
        )
        (function / "requirements.txt").write_text(f"./wheels/{wheel.name}\n")
    store = BundleStore(tmp_path / f"{name}-bundles")
    digest = store.put(pack(function))
    namespace = fields.get("namespace", "default")
    return InstanceSpec(
        namespace=namespace, revision=f"{name}-00001", configuration=name, service=name,
        image=f"unkai.local/{namespace}/{name}@{digest}", bundle=store.path(digest),
        timeout_seconds=10,
    )  # fmt: skip


async def env_of(instance: Instance) -> dict[str, int]:
    async with httpx2.AsyncClient(timeout=30) as client:
        response = await client.get(f"{instance.url}/env")
    assert response.status_code == 200, response.text
    found: dict[str, int] = response.json()
    return found


def title(process: psutil.Process) -> str:
    """What ``ps`` shows as the process's command line."""
    return " ".join(arg for arg in process.cmdline() if arg)


def parent(pid: int) -> psutil.Process:
    found = psutil.Process(pid).parent()
    assert found is not None
    return found


async def test_revisions_zygotes_are_forks_of_one_base_and_hold_little_of_their_own(
    runner: ProcessRunner, make_spec: MakeSpec
) -> None:
    first = await runner.start(make_spec("echo", revision="echo-00001"))
    second = await runner.start(make_spec("echo", revision="echo-00002"))

    pids = [(await env_of(instance))["pid"] for instance in (first, second)]
    zygotes = [parent(pid) for pid in pids]
    bases = {parent(zygote.pid).pid for zygote in zygotes}

    assert zygotes[0].pid != zygotes[1].pid
    assert len(bases) == 1
    (base,) = (psutil.Process(pid) for pid in bases)
    assert "unkai.platform.runners.basezygote" in base.cmdline()
    for zygote in zygotes:  # the runtime's pages stay the base's: a zygote's own are few
        assert zygote.memory_full_info().uss < base.memory_info().rss / 3
    for instance, pid, zygote in zip((first, second), pids, zygotes, strict=True):  # ps tells
        bundle = instance.spec.bundle  # them apart
        assert title(zygote) == f"unkai zygote default/{instance.spec.revision} {bundle}"
        assert title(psutil.Process(pid)) == f"unkai instance default/{instance.id} {bundle}"


@pytest.mark.slow
async def test_a_dead_zygote_leaves_the_base_and_a_dead_base_is_started_again(
    runner: ProcessRunner, make_spec: MakeSpec
) -> None:
    one, other = make_spec("echo", revision="echo-00001"), make_spec("echo", revision="echo-00002")
    instance = await runner.start(one)
    bystander = await runner.start(other)
    zygote = parent((await env_of(instance))["pid"])
    base = parent(zygote.pid)

    zygote.kill()
    assert (await asyncio.wait_for(instance.wait(), 10)).code == -signal.SIGKILL
    again = await runner.start(one)
    assert parent(parent((await env_of(again))["pid"]).pid).pid == base.pid
    assert bystander.exit is None  # untouched

    base.kill()
    await asyncio.wait_for(bystander.wait(), 10)  # its zygote went with the base
    restarted = await runner.start(other)
    assert parent(parent((await env_of(restarted))["pid"]).pid).pid != base.pid


async def test_requirements_replacing_a_module_of_the_base_get_a_zygote_of_their_own(
    logs: LogFiles, tmp_path: Path
) -> None:
    runner = ProcessRunner(
        logs=logs, environments=tmp_path / "envs", ready_timeout=20, isolate=False
    )
    try:
        plain = await runner.start(probe_spec(tmp_path, "plain"))
        own = await runner.start(probe_spec(tmp_path, "own", replaces=True))
        plain_seen, own_seen = await call(plain, "/"), await call(own, "/")
        plain_zygote, own_zygote = parent(plain_seen["pid"]), parent(own_seen["pid"])
        assert parent(own_zygote.pid).pid == os.getpid()  # started by the runner itself
        assert parent(plain_zygote.pid).pid != os.getpid()  # forked from the base
        for zygote, name in ((own_zygote, "own-00001"), (plain_zygote, "plain-00001")):
            assert title(zygote).startswith(f"unkai zygote default/{name} ")  # either way
    finally:
        await runner.close()

    assert own_seen["dateutil"] == "the function's"
    assert plain_seen["dateutil"] == "the platform's"


async def test_a_sandboxed_zygote_forked_from_the_base_gives_its_function_nothing_more(
    logs: LogFiles, tmp_path: Path
) -> None:
    async with sandboxed_runner(logs, tmp_path / "envs") as runner:
        spec = probe_spec(tmp_path, "probe", namespace="tenant")
        first = await call(await runner.start(spec), "/")
        bases = list((logs.root / ".bases").glob("*.log"))

    assert len(bases) == 1  # it came from the tenant's base
    zero = "0000000000000000"
    assert first["caps"] == [zero] * 4
    assert first["no_new_privs"] == "1"
    assert first["seccomp"] == "2"  # filtered
    assert first["unshare"] == [-1, 1]  # EPERM: no namespaces of its own
    assert first["dateutil"] == "the platform's"


def test_what_keeps_a_revision_from_its_base() -> None:
    def reason(**changes: object) -> str | None:
        fields: dict[str, object] = {
            "shadowed": (), "sandboxed": True, "volumes": False, "private_network": False,
            "working_dir": False, "mounts": [Path("/data/b/x")],
            "reachable": [Path("/tmp"), Path("/data/b")],
        }  # fmt: skip
        fields.update(changes)
        return own_zygote_reason(**fields)  # type: ignore[arg-type]

    assert reason() is None
    assert reason(shadowed={"yaml", "starlette"}) == (
        "its requirements replace modules the base zygote imported: starlette, yaml"
    )
    assert reason(volumes=True) == "it mounts volumes"
    assert reason(private_network=True) == "it has a network of its own"
    assert reason(working_dir=True) == "it sets workingDir"
    assert reason(mounts=[Path("/elsewhere/x")]) == (
        "the base zygote has no place to mount /elsewhere/x"
    )
    assert reason(sandboxed=False, volumes=True, mounts=[Path("/elsewhere/x")]) is None


def test_provided_modules_are_the_top_level_names_of_a_site(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg-1.0.dist-info").mkdir()
    (tmp_path / "single.py").write_text("")
    (tmp_path / "_speedups.cpython-311-x86_64-linux-gnu.so").write_text("")
    (tmp_path / "extra.pth").write_text("")
    (tmp_path / "README").write_text("")

    assert provided_modules([tmp_path, tmp_path / "missing"]) == {"pkg", "single", "_speedups"}
