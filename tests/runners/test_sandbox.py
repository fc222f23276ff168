"""The process runner's sandbox and limits, with real namespaces and cgroups: a spy
function cannot read the platform's token, store, environment or another namespace's
bundle, nor write its own; it runs as its namespace's uid (or ``runAsUser``) with
no-new-privs and sees only its own processes; it has no TCP port; a memory hog is
killed and reported as ``OOMKilled``; a fork bomb stops at the pids limit; a detached
child dies with its instance. And where isolation is switched off, instances say so.

These need root, bubblewrap and writable cgroups (what ``scripts/system-packages`` and
the CI machine give); elsewhere they skip and say which is missing.
"""

import asyncio
import os
import secrets
import shutil
import time
from pathlib import Path

import httpx2
import psutil
import pytest
from tests.runners.conftest import FUNCTIONS, MakeSpec, call
from tests.support.wheels import make_wheel

from unkai.platform.bundles import BundleStore, pack
from unkai.platform.runners import LogFiles, ProcessRunner, RunnerError
from unkai.platform.runners.limits import DEFAULT_PIDS, QuantityError, from_resources
from unkai.platform.runners.sandbox import namespace_uid

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_a_spy_reads_nothing_of_the_platform_or_other_tenants(
    sandboxed: ProcessRunner, make_spec: MakeSpec, tmp_path: Path
) -> None:
    token, database = tmp_path / "token", tmp_path / "store.db"
    token.write_text("admin-token")
    database.write_bytes(b"SQLite format 3\0")
    store = BundleStore(tmp_path / "bundles")
    other = store.path(store.put(pack(FUNCTIONS / "echo"))) / "func.py"
    spec = make_spec("spy", namespace="tenant")
    instance = await sandboxed.start(spec)
    assert spec.bundle is not None
    own = spec.bundle / "func.py"

    secrets_ = [str(token), str(database), "/proc/1/environ", f"/proc/{os.getpid()}/environ"]
    read = await call(instance, "/read", path=[*secrets_, str(other), str(own)])
    outside = [str(own), str(other), str(tmp_path / "x")]
    scratch = f"/tmp/unkai-spy-{secrets.token_hex(4)}"
    written = await call(instance, "/write", path=[*outside, scratch])
    mine = await call(instance, "/read", path=[scratch])

    assert read == {
        str(token): "FileNotFoundError",
        str(database): "FileNotFoundError",
        "/proc/1/environ": "PermissionError",  # the sandbox's init, a root process
        f"/proc/{os.getpid()}/environ": "FileNotFoundError",  # not in its pid namespace
        str(other): "FileNotFoundError",
        str(own): "done",
    }
    assert written.pop(scratch) == "done"
    assert mine == {scratch: "done"}
    assert not await asyncio.to_thread(os.path.exists, scratch)  # its /tmp: not the machine's
    assert set(written.values()) <= {"OSError", "PermissionError", "FileNotFoundError"}
    assert await call(instance, "/signal", pid=os.getpid()) == {"signal": "ProcessLookupError"}


async def test_it_runs_as_its_namespace_user_without_privileges_or_a_port(
    sandboxed: ProcessRunner, make_spec: MakeSpec
) -> None:
    instance = await sandboxed.start(make_spec("spy", namespace="tenant"))
    chosen = await sandboxed.start(make_spec("spy", run_as_user=4321, run_as_group=1234))

    me = await call(instance, "/whoami")
    assert (me["uid"], me["gid"], me["groups"]) == (namespace_uid("tenant"),) * 2 + ([],)
    assert me["no_new_privs"] == "1"
    assert max(me["pids"]) < 100  # its own pid namespace: the zygote, instances, bwrap
    assert {(await call(chosen, "/whoami"))[k] for k in ("uid", "gid")} == {4321, 1234}
    assert instance.port == 0
    assert instance.socket_path is not None
    assert instance.socket_path.parent.stat().st_mode & 0o077 == 0  # only the platform


async def test_run_as_non_root_refuses_uid_0_as_the_kubelet_does(
    sandboxed: ProcessRunner, make_spec: MakeSpec
) -> None:
    with pytest.raises(RunnerError, match="container's runAsUser breaks non-root policy") as e:
        await sandboxed.start(make_spec("spy", run_as_user=0, run_as_non_root=True))
    assert e.value.reason == "CreateContainerConfigError"

    instance = await sandboxed.start(make_spec("spy", run_as_non_root=True))  # its own uid
    assert (await call(instance, "/whoami"))["uid"] == namespace_uid("default")


async def test_a_memory_hog_is_killed_and_reported(
    sandboxed: ProcessRunner, make_spec: MakeSpec
) -> None:
    spec = make_spec("spy", resources={"limits": {"memory": "96Mi"}})
    instance = await sandboxed.start(spec)

    with pytest.raises(httpx2.TransportError):
        await call(instance, "/hog", mb=400)
    ended = await instance.wait()

    assert ended.reason == "OOMKilled"
    assert ended.code == -9
    assert "resources.limits.memory" in ended.message
    assert (await call(await sandboxed.start(spec), "/hog", mb=16)) == {"held_mb": 16}


async def test_a_fork_bomb_stops_at_the_pids_limit(
    sandboxed: ProcessRunner, make_spec: MakeSpec
) -> None:
    instance = await sandboxed.start(make_spec("spy"))

    started = (await call(instance, "/forks", n=DEFAULT_PIDS * 2))["started"]

    assert 0 < started < DEFAULT_PIDS
    assert await call(instance, "/whoami")  # still serving


async def test_a_detached_child_dies_with_its_instance(
    sandboxed: ProcessRunner, make_spec: MakeSpec
) -> None:
    instance = await sandboxed.start(make_spec("spy"))
    tag = f"{600 + secrets.randbelow(1000)}.{secrets.randbelow(10**6):06d}"

    await call(instance, "/detach", tag=tag)
    deadline = time.monotonic() + 10
    while not tagged(tag):
        assert time.monotonic() < deadline, "the detached sleep never started"
        await asyncio.sleep(0.02)
    await instance.stop()  # returns once nothing of the instance is left

    assert tagged(tag) == []


async def test_requirements_are_installed_as_the_functions_user(
    sandboxed: ProcessRunner, make_spec: MakeSpec, tmp_path: Path
) -> None:
    function = tmp_path / "loud"
    shutil.copytree(FUNCTIONS / "spy", function)
    (function / "wheels").mkdir()
    wheel = make_wheel(function / "wheels", name="shout", version="2.0")
    (function / "requirements.txt").write_text(f"./wheels/{wheel.name}\n")
    store = BundleStore(tmp_path / "loud-bundles")
    spec = make_spec("spy", namespace="tenant", bundle=store.path(store.put(pack(function))))

    instance = await sandboxed.start(spec)

    sites = list((tmp_path / "envs").glob("envs/*/shout"))
    assert len(sites) == 1
    assert sites[0].stat().st_uid == namespace_uid("tenant")  # pip ran as the tenant
    module = str(sites[0] / "__init__.py")
    assert await call(instance, "/read", path=[module]) == {module: "done"}  # instances see it


async def test_where_isolation_is_off_instances_say_so(
    logs: LogFiles, make_spec: MakeSpec, tmp_path: Path
) -> None:
    runner = ProcessRunner(logs=logs, environments=tmp_path / "envs", isolate=False)
    try:
        instance = await runner.start(make_spec("spy"))
        token = tmp_path / "token"
        token.write_text("admin-token")
        async with httpx2.AsyncClient() as client:
            read = (await client.get(f"{instance.url}/read", params={"path": str(token)})).json()
    finally:
        await runner.close()

    assert "functions are not isolated" in instance.unisolated
    assert "limits are not enforced" in instance.unisolated
    assert read == {str(token): "done"}  # what the sandbox is there to prevent


def test_limits_are_read_as_kubernetes_quantities() -> None:
    limits = from_resources({"limits": {"memory": "1.5Gi", "cpu": "250m"}})
    assert (limits.memory, limits.cpu) == (3 * 2**29, 0.25)
    assert from_resources({"requests": {"memory": "1Gi"}}).memory is None
    with pytest.raises(QuantityError, match="'12x' is not a quantity"):
        from_resources({"limits": {"memory": "12x"}})


def tagged(tag: str) -> list[psutil.Process]:
    """Live ``sleep TAG`` processes, at one look."""
    return [
        process
        for process in psutil.process_iter(["cmdline", "status"])
        if process.info["cmdline"] == ["sleep", tag]
        and process.info["status"] != psutil.STATUS_ZOMBIE
    ]
