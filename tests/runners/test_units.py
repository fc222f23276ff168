"""The pure parts of the runners: restart backoff, reading a Revision into an instance
spec, exit reasons and messages, log summaries, following log files, and
an instance's stop and exit bookkeeping (with a fake process)."""

import asyncio
import json
from pathlib import Path

import pytest

from unkai.platform.backoff import CrashLoop, restart_delay
from unkai.platform.runners import (
    Instance,
    InstanceExit,
    InstanceSpec,
    LogFiles,
    Mount,
    follow,
    from_revision,
)
from unkai.platform.runners.logfiles import summary, tail


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(0, 0.0), (1, 0.1), (2, 0.2), (3, 0.4), (5, 1.6), (9, 25.6), (10, 30.0), (10_000, 30.0)],
)
def test_restart_delay_doubles_up_to_a_cap(failures: int, delay: float) -> None:
    assert restart_delay(failures) == pytest.approx(delay)


def test_crash_loop_counts_until_an_instance_ran_healthy() -> None:
    loop = CrashLoop()
    for _ in range(4):
        loop = loop.after_exit(ran_for=0.5)
    assert (loop.failures, loop.delay) == (4, pytest.approx(0.8))
    healed = loop.after_exit(ran_for=120)
    assert (healed.failures, healed.delay) == (1, pytest.approx(0.1))


def test_from_revision_reads_the_runtime_contract(tmp_path: Path) -> None:
    revision = {
        "metadata": {
            "name": "hello-00002",
            "namespace": "team",
            "labels": {
                "serving.knative.dev/service": "hello",
                "serving.knative.dev/configuration": "hello",
            },
        },
        "spec": {
            "containerConcurrency": 4,
            "timeoutSeconds": 12,
            "containers": [
                {
                    "image": "unkai.local/team/hello@sha256:" + "0" * 64,
                    "readinessProbe": {"tcpSocket": {"port": 0}},
                    "livenessProbe": {"exec": {"command": ["true"]}, "failureThreshold": 2},
                    "ports": [{"containerPort": 8801}],
                    "command": ["/bin/serve"],
                    "args": ["--fast"],
                    "workingDir": "/srv",
                    "volumeMounts": [{"name": "conf", "mountPath": "/etc/conf", "readOnly": True}],
                }
            ],
        },
    }
    spec = from_revision(revision, bundle=tmp_path, env={"A": "1"})
    assert (spec.key, spec.service, spec.configuration) == (
        ("team", "hello-00002"),
        "hello",
        "hello",
    )
    assert (spec.env, spec.container_concurrency, spec.grace_period) == ({"A": "1"}, 4, 12)
    assert (spec.container_port, spec.command, spec.args, spec.working_dir) == (
        8801, ("/bin/serve",), ("--fast",), "/srv",
    )  # fmt: skip
    assert spec.mounts == (Mount("conf", "/etc/conf", read_only=True),)
    assert spec.readiness is not None
    assert spec.readiness.path == "/health/readiness"
    assert spec.readiness.aggressive  # periodSeconds 0: Knative's aggressive probing
    assert spec.liveness is not None
    assert spec.liveness.failure_threshold == 2
    image = from_revision(revision).readiness
    assert image is not None
    assert image.handler == "tcpSocket"
    revision["spec"]["containers"][0]["readinessProbe"] = {"httpGet": {"path": "/ready"}}
    ready = from_revision(revision).readiness
    assert ready is not None
    assert (ready.handler, ready.path) == ("httpGet", "/ready")


def test_contract_env_leaves_out_k_service_without_a_service() -> None:
    spec = InstanceSpec(namespace="default", revision="c-00001", configuration="c")
    assert spec.contract_env(port=8080) == {
        "PORT": "8080",
        "K_CONFIGURATION": "c",
        "K_REVISION": "c-00001",
    }


def test_exit_reasons_follow_kubernetes() -> None:
    assert InstanceExit(1).reason == "ExitCode1"
    assert InstanceExit(-9).reason == "ExitCode137"
    assert InstanceExit(0).message == "Container failed with exit code 0"


def test_summary_makes_json_log_lines_readable() -> None:
    lines = [
        json.dumps({"level": "error", "message": "cannot serve", "exception": "Tb\nKeyError: 'x'"}),
        "plain text",
        json.dumps({"level": "info", "message": "hello"}),
    ]
    assert summary(lines) == "error: cannot serve (KeyError: 'x')\nplain text\ninfo: hello"


def test_tail_of_a_missing_file_is_empty(tmp_path: Path) -> None:
    assert tail(tmp_path / "nothing.log") == []
    (tmp_path / "some.log").write_text("".join(f"{n}\n" for n in range(100)))
    assert tail(tmp_path / "some.log", 3) == ["97", "98", "99"]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_follow_reads_new_lines_and_new_files(tmp_path: Path) -> None:
    files = LogFiles(tmp_path)
    spec = InstanceSpec(namespace="default", revision="echo-00001", configuration="echo")
    files.instance(spec, "echo-00001-a").write_text("one\ntw")
    seen: list[tuple[str, str]] = []

    async def collect() -> None:
        async for line in follow(files, namespace="default", service="echo", interval=0.02):
            seen.append((line.instance, line.text))
            if len(seen) == 3:
                return

    following = asyncio.ensure_future(collect())
    deadline = asyncio.get_running_loop().time() + 5
    while not seen:  # following has read what was there: what comes next is new
        assert asyncio.get_running_loop().time() < deadline, "follow read nothing"
        await asyncio.sleep(0.01)
    with files.instance(spec, "echo-00001-a").open("a") as log:
        log.write("o\n")
    files.instance(spec, "echo-00001-b").write_text("three\n")
    await asyncio.wait_for(following, 5)
    assert seen == [("echo-00001-a", "one"), ("echo-00001-a", "two"), ("echo-00001-b", "three")]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_instance_reports_its_end_once(tmp_path: Path) -> None:
    returncode: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    signals: list[int] = []

    async def send_signal(signum: int) -> None:
        signals.append(signum)
        returncode.set_result(-signum)

    spec = InstanceSpec(namespace="default", revision="r-00001", configuration="r")
    (tmp_path / "r.log").write_text("bye\n")
    instance = Instance(
        id="r-00001-a",
        spec=spec,
        port=1,
        log_path=tmp_path / "r.log",
        returncode=returncode,
        send_signal=send_signal,
    )
    assert instance.exit is None
    ended = await instance.stop()
    assert (signals, ended) == ([15], InstanceExit(-15, ("bye",)))
    await asyncio.sleep(0.05)
    assert instance.uptime() < 0.05  # stopped growing when it ended
    assert (await instance.stop()) is ended  # nothing is signalled twice
    assert signals == [15]


def test_an_unreadable_log_gives_a_line_saying_so_not_an_error(tmp_path: Path) -> None:
    log = tmp_path / "instance.log"
    log.mkdir()  # what was a log file is now something that cannot be read as one
    assert tail(log) == ["(the log could not be read: Is a directory)"]
