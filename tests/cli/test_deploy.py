"""`unkai deploy`, `invoke` and `logs` against a real `unkai up`, as a user runs them:
processes, with instances that run the function.

Aspects: deploy prints a URL that serves the function; re-deploying an unchanged
function creates no revision while an edit creates one; invoke reaches a
`*.localhost` URL; logs show the instances' output; a function that cannot start makes
deploy fail with the revision's reason instead of waiting forever; invoke calls a deployed
service by its name or its directory; after a restart of
the platform no revision runs until a request asks for it. Deploy ships only what the
function needs (defaults, .funcignore) and says how much, and refuses links and sizes
the platform would refuse before uploading. `logs` and `list` speak plainly about
missing services and piped output. The deploy sequence itself (namespaces, Triggers,
waiting) is tested in-process: tests/kube/test_deploy.py, tests/cli/test_resources.py.
"""

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.cli import unkai, user_env
from tests.support.processes import revision_processes

URL = re.compile(r"http://hello\.default\.localhost:\d+")


@pytest.fixture
def home(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = user_env(tmp_path)
    started = unkai("up", "--detach", "--api-port", "0", "--port", "0", env=env)
    assert started.returncode == 0, started.stdout + started.stderr
    yield env
    unkai("down", env=env)


def revisions(env: dict[str, str]) -> list[str]:
    listed = json.loads(unkai("revisions", "hello", "-o", "json", env=env).stdout)
    return sorted(item["metadata"]["name"] for item in listed["items"])


def test_deploy_serve_redeploy_and_logs(tmp_path: Path, home: dict[str, str]) -> None:
    assert unkai("init", "hello", env=home, cwd=tmp_path).returncode == 0
    function = tmp_path / "hello"
    deployed = unkai("deploy", str(function), env=home)
    assert deployed.returncode == 0, deployed.stderr
    url = URL.search(deployed.stdout)
    assert url is not None, deployed.stdout
    called = unkai("invoke", url.group(0) + "/?name=Ada", env=home)
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout) == {"message": "Hello, Ada!"}

    again = unkai("deploy", str(function), env=home)
    assert again.returncode == 0, again.stderr
    assert revisions(home) == ["hello-00001"]

    source = function / "func.py"
    source.write_text(source.read_text().replace("Hello,", "Howdy,"))
    assert unkai("deploy", str(function), env=home).returncode == 0
    assert revisions(home) == ["hello-00001", "hello-00002"]
    assert '"Howdy, Ada!"' in unkai("invoke", url.group(0) + "/?name=Ada", env=home).stdout
    by_name = unkai("invoke", "hello", "--path", "/?name=Ada", env=home)
    assert by_name.returncode == 0, by_name.stderr
    assert json.loads(by_name.stdout) == {"message": "Howdy, Ada!"}
    by_directory = unkai("invoke", str(function), "-d", '{"name": "Bob"}', env=home)
    assert json.loads(by_directory.stdout) == {"message": "Howdy, Bob!"}
    unknown = unkai("invoke", "nosuch", env=home)
    assert unknown.returncode == 1
    assert "nosuch is neither a URL, a function directory nor a deployed service" in (
        unknown.stderr
    )

    logs = unkai("logs", "hello", env=home)
    assert logs.returncode == 0
    assert "function started" in logs.stdout
    only_second = unkai("logs", "hello", "--revision", "hello-00002", env=home)
    assert "hello-00002-" in only_second.stdout
    assert "hello-00001-" not in only_second.stdout


def test_a_function_that_cannot_start_fails_the_deploy(
    tmp_path: Path, home: dict[str, str]
) -> None:
    assert unkai("init", "hello", env=home, cwd=tmp_path).returncode == 0
    (tmp_path / "hello" / "func.py").write_text(
        "raise RuntimeError('no database')\n\ndef handle(request):\n    pass\n"
    )
    deployed = unkai("deploy", str(tmp_path / "hello"), "--timeout", "60", env=home)
    assert deployed.returncode == 1
    assert "not ready" in deployed.stderr
    assert "importing func failed (func.py, line 1)" in deployed.stderr
    assert "no database" in deployed.stderr
    assert "/trees/" not in deployed.stderr  # the user's file, not the bundle copy
    logs = unkai("logs", "hello", env=home)
    assert "ERROR cannot load the function: importing func failed (func.py, line 1)" in (
        logs.stdout
    )
    assert 'File "func.py", line 1, in <module>' in logs.stdout
    assert "ERROR an instance failed to start: ExitCode2" in logs.stdout


def test_deploy_needs_a_valid_func_yaml(tmp_path: Path) -> None:
    env = user_env(tmp_path)  # refused before any platform is asked
    (tmp_path / "func.yaml").write_text("name: Bad Name\n")
    deployed = unkai("deploy", str(tmp_path), env=env)
    assert deployed.returncode == 1
    assert "line 1: name:" in deployed.stderr


def revision(env: dict[str, str], name: str) -> dict[str, Any]:
    listed = json.loads(unkai("revisions", name.rsplit("-", 1)[0], "-o", "json", env=env).stdout)
    found: dict[str, Any] = next(r for r in listed["items"] if r["metadata"]["name"] == name)
    return found


def test_a_restart_wakes_no_revision_until_a_request_comes(
    tmp_path: Path, home: dict[str, str]
) -> None:
    assert unkai("init", "hello", env=home, cwd=tmp_path).returncode == 0
    assert unkai("deploy", str(tmp_path / "hello"), env=home).returncode == 0
    assert unkai("down", env=home).returncode == 0
    assert revision_processes("hello-00001", data_dir=home["UNKAI_DATA_DIR"]) == []

    started = unkai("up", "--detach", "--api-port", "0", "--port", "0", env=home)
    assert started.returncode == 0, started.stderr
    deadline = time.monotonic() + 30  # until the new platform has reconciled it
    while revision(home, "hello-00001")["status"].get("actualReplicas") != 0:
        assert time.monotonic() < deadline, "the revision was never reconciled"
        time.sleep(0.2)
    time.sleep(1)  # a revision given its initial scale would be starting by now
    assert revision_processes("hello-00001", data_dir=home["UNKAI_DATA_DIR"]) == []
    service = json.loads(unkai("describe", "hello", "-o", "json", env=home).stdout)
    ready = [c for c in service["status"]["conditions"] if c["type"] == "Ready"]
    assert ready[0]["status"] == "True", service["status"]  # at zero, still ready
    called = unkai("invoke", service["status"]["url"] + "/?name=Ada", env=home)
    assert json.loads(called.stdout) == {"message": "Hello, Ada!"}, called.stderr
    assert revision_processes("hello-00001", data_dir=home["UNKAI_DATA_DIR"]) != []


LIST_OWN_FILES = """import os

HERE = os.path.dirname(os.path.abspath(__file__))


def handle(request):
    return sorted(
        os.path.relpath(os.path.join(parent, name), HERE)
        for parent, _, names in os.walk(HERE)
        for name in names
    )
"""


def test_the_bundle_leaves_out_what_the_function_does_not_need(
    tmp_path: Path, home: dict[str, str]
) -> None:
    assert unkai("init", "hello", env=home, cwd=tmp_path).returncode == 0
    function = tmp_path / "hello"
    (function / "func.py").write_text(LIST_OWN_FILES)
    for junk in ("node_modules/left-pad/index.js", "venv/bin/python", "data/train.csv"):
        (function / junk).parent.mkdir(parents=True, exist_ok=True)
        (function / junk).write_bytes(bytes(100_000))
    (function / "notes.csv").write_text("kept by !")
    (function / ".funcignore").write_text("# data is fetched at start\ndata/\n*.csv\n!notes.csv\n")

    deployed = unkai("deploy", str(function), env=home)
    assert deployed.returncode == 0, deployed.stderr
    assert re.search(r"Bundled 6 files, [\d.]+ KiB \([\d.]+ (B|KiB) packed\)", deployed.stderr)
    url = re.search(r"http://\S+", deployed.stdout)
    assert url is not None, deployed.stdout
    shipped = json.loads(unkai("invoke", url.group(0), env=home).stdout)
    assert [name for name in shipped if "__pycache__" not in name] == [
        ".funcignore",
        "func.py",
        "func.yaml",
        "notes.csv",
        "requirements.txt",
        "test_func.py",
    ]

    (function / "weights.bin").write_bytes(os.urandom(51 * 2**20))
    too_large = unkai("deploy", str(function), env=home)
    assert too_large.returncode == 1
    assert re.search(
        r"error: the bundle of \S+ is 7 files, 51\.\d MiB \(51\.\d MiB packed\), more than "
        r"the platform's limit of 50\.0 MiB: .* in \S+/\.funcignore",
        too_large.stderr,
    ), too_large.stderr


@pytest.mark.parametrize(
    ("link", "target", "why"),
    [
        ("out.txt", "{outside}/secret.txt", "symbolic link leads outside the bundle"),
        ("abs.txt", "{function}/data.txt", "symbolic link to an absolute path"),
        ("up.txt", "../hello/data.txt", "symbolic link leads outside the bundle (../hello"),
    ],
)
def test_links_the_platform_refuses_stop_deploy_with_one_line(
    tmp_path: Path, link: str, target: str, why: str
) -> None:
    env = user_env(tmp_path)  # refused while packing, before any platform is asked
    assert unkai("init", "hello", env=env, cwd=tmp_path).returncode == 0
    function = tmp_path / "hello"
    (function / "data.txt").write_text("data")
    (tmp_path / "secret.txt").write_text("secret")
    (function / link).symlink_to(target.format(outside=tmp_path, function=function))
    deployed = unkai("deploy", str(function), env=env)
    assert deployed.returncode == 1
    assert deployed.stderr.startswith(f"error: cannot bundle {function}: {link}: {why}")
    assert ".funcignore" in deployed.stderr
    assert "Traceback" not in deployed.stderr
    assert len(deployed.stderr.strip().splitlines()) == 1, deployed.stderr


def test_reserved_env_names_are_refused_with_their_line(tmp_path: Path) -> None:
    env = user_env(tmp_path)
    (tmp_path / "func.yaml").write_text("name: hello\nenv:\n  GREETING: hi\n  PORT: 8080\n")
    deployed = unkai("deploy", str(tmp_path), env=env)
    assert deployed.returncode == 1
    assert 'line 4: env.PORT: invalid name: "PORT" is a reserved environment variable' in (
        deployed.stderr
    )


def test_logs_and_list_speak_plainly(tmp_path: Path, home: dict[str, str]) -> None:
    nothing = unkai("logs", "nosuch", env=home)
    assert nothing.returncode == 1
    assert "there is no service nosuch in namespace default" in nothing.stderr

    name = "a-service-with-a-rather-long-name-" + "x" * 29
    manifest = tmp_path / "long.yaml"
    manifest.write_text(
        "apiVersion: serving.knative.dev/v1\nkind: Service\n"
        f"metadata: {{name: {name}}}\n"
        "spec: {template: {spec: {containers: [{image: dev.local/never:1}]}}}\n"
    )
    assert unkai("apply", "-f", str(manifest), env=home).returncode == 0
    not_yet = unkai("logs", name, "--revision", f"{name}-00002", env=home)
    assert f"no logs for revision {name}-00002 of {name} in namespace default (yet)" in (
        not_yet.stderr
    )
    deadline = time.monotonic() + 60  # the platform says why its instance does not start
    while (
        "ERROR an instance failed to start" not in (shown := unkai("logs", name, env=home)).stdout
    ):
        assert time.monotonic() < deadline, shown.stdout + shown.stderr

    listed = unkai("list", env=home).stdout.splitlines()  # piped, as into awk
    assert listed[0].split() == ["NAME", "URL", "LATEST", "AGE", "READY", "REASON"]
    [row] = listed[1:]
    columns = row.split()
    assert columns[0] == name
    assert re.fullmatch(rf"http://{name}\.default\.localhost:\d+", columns[1])
    assert re.fullmatch(r"\d+s", columns[2])  # AGE; no LATEST yet


def test_requests_the_gateway_ends_show_in_the_logs(tmp_path: Path, home: dict[str, str]) -> None:
    (tmp_path / "func.yaml").write_text("name: hello\ndeploy:\n  timeout: 1\n")
    (tmp_path / "func.py").write_text(
        "import asyncio\n\nasync def handle(request):\n    await asyncio.sleep(5)\n"
    )
    deployed = unkai("deploy", str(tmp_path), env=home)
    assert deployed.returncode == 0, deployed.stderr
    called = unkai("invoke", "hello", env=home)
    assert called.returncode == 1
    assert "504 Gateway Timeout" in called.stderr
    wanted = "WARNING 1 request timed out (504): no response within the revision's timeoutSeconds"
    deadline = time.monotonic() + 30
    while wanted not in (shown := unkai("logs", "hello", env=home).stdout):
        assert time.monotonic() < deadline, shown
