"""``unkai invoke``: what it sends and what it prints.

Aspects: a directory target is called per the signature the runtime detected when
func.yaml declares none; a file that is not UTF-8 is sent as its bytes
(application/octet-stream unless a Content-Type is given); the response body reaches
stdout byte for byte (no emoji codes, no markup, no re-indented JSON), the status of
an empty reply on stderr; --path is applied to a directory target and refused with a
URL.
"""

import subprocess
from pathlib import Path

from tests.cli.functions import URL, write_function
from tests.support.cli import UNKAI, background, unkai, user_env

ECHO = """
    def handle(request):
        seen = {"x-type": request.headers.get("content-type", ""), "x-path": request.url.path}
        return request.data, 200, {"content-type": "application/octet-stream", **seen}
"""


def invoke(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """``unkai invoke ARGS``, its output kept as bytes."""
    return subprocess.run(
        [*UNKAI, "invoke", *args], env=env, capture_output=True, timeout=60, check=False
    )


def test_the_detected_signature_is_used_and_an_empty_reply_shows_its_status(
    tmp_path: Path,
) -> None:
    directory = write_function(tmp_path, "sink", "def handle(event):\n    return None\n")
    env = user_env(tmp_path)
    with background("run", str(directory), "--port", "0", env=env) as (_, output):
        output.wait_for("Serving sink at")
        called = unkai("invoke", str(directory), env=env)
    assert called.returncode == 0, called.stderr
    assert called.stdout == ""
    assert "202 Accepted (no body)" in called.stderr


def test_bodies_travel_byte_for_byte(tmp_path: Path) -> None:
    directory = write_function(tmp_path, "echo", ECHO)
    payload = tmp_path / "payload.bin"
    payload.write_bytes(b"\xff\xfe\x00binary\x80")
    env = user_env(tmp_path)
    with background("run", str(directory), "--port", "0", env=env) as (_, output):
        output.wait_for("Serving echo at")
        binary = invoke(str(directory), "-d", f"@{payload}", "-v", env=env)
        typed = invoke(
            str(directory), "-d", f"@{payload}", "-H", "content-type: image/x", "-v", env=env
        )
        text = ':thumbsup: [bold]not markup[/bold] {"a":  1}\n'
        literal = invoke(str(directory), "-d", text, "--path", "/some/where", "-v", env=env)
    assert binary.returncode == 0, binary.stderr
    assert binary.stdout == payload.read_bytes()
    assert b"< x-type: application/octet-stream" in binary.stderr
    assert b"< x-type: image/x" in typed.stderr
    assert literal.stdout == text.encode()
    assert b"< x-type: text/plain; charset=utf-8" in literal.stderr
    assert b"< x-path: /some/where" in literal.stderr


def test_json_replies_are_not_reformatted(tmp_path: Path) -> None:
    directory = write_function(
        tmp_path, "json", "def handle(request):\n    return {'emoji': ':thumbsup:'}\n"
    )
    env = user_env(tmp_path)
    with background("run", str(directory), "--port", "0", env=env) as (_, output):
        url = URL.search(output.wait_for("Serving json at"))
        assert url is not None
        called = invoke(url.group(0), env=env)
    assert called.stdout == b'{"emoji":":thumbsup:"}'
    assert called.stderr == b""


def test_path_with_a_url_is_refused(tmp_path: Path) -> None:
    result = unkai("invoke", "http://127.0.0.1:9/", "--path", "/x", env=user_env(tmp_path))
    assert result.returncode == 2
    assert "--path is for a directory or name target: put it in the URL" in result.stderr
