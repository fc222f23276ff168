"""``unkai run`` and ``unkai invoke``: the inner loop as a user lives it.

Aspects: run prints a URL that serves the function; invoke finds it by directory and
calls it per signature (http, cloudevent, event), the reply's body on stdout and the
CloudEvent attributes on stderr; an edit reloads the function; a broken edit is
reported (to invoke too) and fixed by the next edit; requirements are installed once
and reused; Ctrl-C stops everything and removes the run record; errors for nothing
running and for unreachable URLs.
"""

import json
import signal
from pathlib import Path

import httpx2
import pytest
from tests.cli.functions import URL
from tests.support.cli import background, unkai, user_env
from tests.support.wheels import make_wheel


def scaffold(home: Path, name: str, template: str) -> Path:
    result = unkai("init", name, "--template", template, env=user_env(home), cwd=home)
    assert result.returncode == 0, result.stderr
    return home / name


def test_run_serves_invoke_calls_and_edits_reload(tmp_path: Path) -> None:
    directory = scaffold(tmp_path, "hello", "http")
    env = user_env(tmp_path)
    with background("run", str(directory), "--port", "0", env=env) as (process, output):
        url = URL.search(output.wait_for("Serving hello at"))
        assert url is not None
        assert httpx2.get(url.group(0) + "/?name=Ada").json() == {"message": "Hello, Ada!"}

        called = unkai("invoke", str(directory), "--data", '{"name": "Grace"}', env=env)
        assert called.returncode == 0, called.stderr
        assert json.loads(called.stdout) == {"message": "Hello, Grace!"}

        source = directory / "func.py"
        source.write_text(source.read_text().replace("Hello,", "Howdy,"))
        output.wait_for("Reloaded.")
        assert httpx2.get(url.group(0) + "/").json() == {"message": "Howdy, world!"}

        seen = len(output.lines)
        source.write_text("def handle(:\n")
        output.wait_for("not restarted", after=seen)
        broken = unkai("invoke", str(directory), env=env)
        assert "hello is not running: it did not start" in broken.stderr
        source.write_text("def handle(request):\n    return 'fixed'\n")
        output.wait_for("Reloaded.", after=seen)
        assert httpx2.get(url.group(0) + "/").text == "fixed"

        process.send_signal(signal.SIGINT)
        assert process.wait(20) == 0
        output.wait_for("Stopped.")
    gone = unkai("invoke", str(directory), env=env)
    assert gone.returncode == 1
    assert "unkai run" in gone.stderr
    with pytest.raises(httpx2.TransportError):
        httpx2.get(url.group(0) + "/", timeout=2)


def test_invoke_sends_cloudevents_and_shows_the_reply(tmp_path: Path) -> None:
    directory = scaffold(tmp_path, "echo", "cloudevent")
    env = user_env(tmp_path)
    with background("run", str(directory), "--port", "0", "--no-reload", env=env) as (_, output):
        output.wait_for("Serving echo at")
        called = unkai(
            "invoke",
            str(directory),
            "--data",
            '{"n": 1}',
            "--type",
            "com.example.t",
            "--source",
            "/here",
            env=env,
        )
    assert called.returncode == 0, called.stderr
    assert "type: dev.unkai.echo.reply" in called.stderr
    assert json.loads(called.stdout) == {"received": {"n": 1}, "from": "/here"}


def test_invoke_event_signature_by_url(tmp_path: Path) -> None:
    directory = scaffold(tmp_path, "summer", "event")
    env = user_env(tmp_path)
    with background("run", str(directory), "--port", "0", "--no-reload", env=env) as (_, output):
        url = URL.search(output.wait_for("Serving summer at"))
        assert url is not None
        called = unkai("invoke", url.group(0), "-d", '{"numbers": [2, 3]}', "-v", env=env)
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout)["sum"] == 5.0
    assert "> POST" in called.stderr
    assert "< 200" in called.stderr


def test_requirements_are_installed_once_then_cached(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(
        wheels, name="shout", version="2.0", module_source="def up(s):\n    return s.upper()\n"
    )
    env = user_env(tmp_path, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels))
    directory = scaffold(tmp_path, "loud", "http")
    (directory / "requirements.txt").write_text("shout==2.0\n")
    (directory / "func.py").write_text(
        "import shout\n\ndef handle(request):\n    return shout.up('hi')\n"
    )
    for _attempt in range(2):
        with background("run", str(directory), "--port", "0", "--no-reload", env=env) as (_, out):
            url = URL.search(out.wait_for("Serving loud at"))
            assert url is not None
            assert httpx2.get(url.group(0)).text == "HI"
        for wheel in wheels.iterdir():  # the second run must not need pip at all
            wheel.unlink()


def test_bad_func_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    directory = scaffold(tmp_path, "oops", "http")
    (directory / "func.yaml").write_text("name: oops\ndeploy:\n  scale: {min: lots}\n")
    result = unkai("run", str(directory), "--port", "0", env=user_env(tmp_path))
    assert result.returncode == 1
    assert "line 3: deploy.scale.min:" in result.stderr


def test_invoke_unreachable_url_fails_clearly(tmp_path: Path) -> None:
    result = unkai("invoke", "http://127.0.0.1:9/", env=user_env(tmp_path))
    assert result.returncode == 1
    assert "could not reach http://127.0.0.1:9/" in result.stderr
