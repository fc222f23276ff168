"""``unkai run`` gives the function func.yaml's ``sink`` as ``unkai deploy`` does.

Aspects: a URL sink is ``K_SINK`` as written, its extensions ``K_CE_OVERRIDES``, and
``send_event`` reaches it; a broker is found on the local platform (one embedded
``unkai up`` for the module), and an event the function sends goes through it to a
trigger's subscriber; without a platform, or for a Service that does not exist, a
warning names the sink and says what to do, and the function serves anyway; an edit
of func.yaml rebinds; a ``K_SINK`` the user exported wins (checked in-process).
"""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from click.testing import CliRunner
from tests.cli.functions import URL, write_function
from tests.controllers.readiness import InMemoryReadiness
from tests.eventing.conftest import Subscriber, serving
from tests.support.cli import background, user_env
from tests.support.embedded import embedded

from unkai.api import funcyaml
from unkai.cli.main import cli
from unkai.cli.run import sink_environment
from unkai.platform.embedded import Platform, Settings

pytestmark = pytest.mark.slow

REPORTER = """
    import os

    from unkai.runtime.sink import send_event


    def handle(request):
        if request.url.path == "/send":
            send_event("run.sent", "/run", {"n": 1})
        return {name: os.environ.get(name) for name in ("K_SINK", "K_CE_OVERRIDES")}
"""


@pytest.fixture(scope="module")
def subscriber() -> Iterator[Subscriber]:
    with serving(Subscriber()) as recorder:
        yield recorder


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Platform]]:
    """An ``unkai up`` whose data dir is ``home/data``, found there by ``unkai run``."""
    home = tmp_path_factory.mktemp("home")
    settings = Settings(data_dir=home / "data", api_port=0, gateway_port=0)
    with embedded(settings, readiness=InMemoryReadiness()) as running:
        yield home, running


def command(home: Path, *args: str) -> str:
    env = {"UNKAI_DATA_DIR": str(home / "data"), "KUBECONFIG": str(home / "kube")}
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def until_ready(home: Path, kind: str, name: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for item in json.loads(command(home, kind, "list", "-o", "json"))["items"]:
            conditions = (item.get("status") or {}).get("conditions", [])
            if item["metadata"]["name"] == name and any(
                c["type"] == "Ready" and c["status"] == "True" for c in conditions
            ):
                return
        time.sleep(0.05)
    raise AssertionError(f"{kind} {name} never Ready")


def reported(url: str, path: str = "/") -> dict[str, str | None]:
    answer = httpx2.get(url + path, timeout=20)
    assert answer.status_code == 200, answer.text
    result: dict[str, str | None] = answer.json()
    return result


def test_without_a_platform_a_broker_sink_warns_and_a_url_sink_binds(
    tmp_path: Path, subscriber: Subscriber
) -> None:
    directory = write_function(tmp_path, "reporter", REPORTER)
    (directory / "func.yaml").write_text("name: reporter\nsink: broker:shop\n")
    env = user_env(tmp_path)
    env.pop("K_SINK", None)
    with background("run", str(directory), "--port", "0", env=env) as (_, output):
        warning = output.wait_for("warning: sink broker:shop is not bound")
        assert "none is running: start `unkai up`, or give the sink as a URL" in warning
        url = URL.search(output.wait_for("Serving reporter at"))
        assert url is not None
        assert reported(url.group(0)) == {"K_SINK": None, "K_CE_OVERRIDES": None}

        seen = len(output.lines)
        (directory / "func.yaml").write_text(
            f"name: reporter\nsink: {{to: '{subscriber.url}', extensions: {{team: shop}}}}\n"
        )
        output.wait_for("Reloaded.", after=seen)
        assert reported(url.group(0), "/send") == {
            "K_SINK": subscriber.url,
            "K_CE_OVERRIDES": '{"extensions": {"team": "shop"}}',
        }
    received = [r for r in subscriber.wait(1) if r.headers.get("ce-source") == "/run"]
    assert received[0].headers["ce-team"] == "shop"
    assert json.loads(received[0].body) == {"n": 1}


def test_a_k_sink_the_user_exported_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In-process (a start of the function adds nothing here): the function inherits
    ``unkai run``'s environment, and nothing from func.yaml's sink goes on top."""
    directory = write_function(tmp_path, "reporter", REPORTER)
    (directory / "func.yaml").write_text(
        "name: reporter\nsink: {to: 'http://127.0.0.1:9/', extensions: {team: shop}}\n"
    )
    monkeypatch.setenv("K_SINK", "http://127.0.0.1:9/mine")
    assert sink_environment(funcyaml.load(directory)) == {}
    said = capsys.readouterr().err
    assert said == "Sink: K_SINK from your environment, not func.yaml's http://127.0.0.1:9/\n"


def test_a_broker_sink_is_found_on_the_local_platform(
    platform: tuple[Path, Platform], subscriber: Subscriber
) -> None:
    home, running = platform
    command(home, "broker", "create", "shop")
    command(home, "trigger", "create", "sent", "--broker", "shop", "--sink", subscriber.url,
            "--filter", "type=run.sent")  # fmt: skip
    until_ready(home, "broker", "shop")
    until_ready(home, "trigger", "sent")
    directory = write_function(home, "reporter", REPORTER)
    (directory / "func.yaml").write_text("name: reporter\nsink: broker:shop\n")
    env = user_env(home)
    env.pop("K_SINK", None)
    broker = f"http://broker-ingress.knative-eventing.localhost:{running.gateway.port}/default/shop"
    before = len(subscriber.received)
    with background("run", str(directory), "--port", "0", env=env) as (_, output):
        output.wait_for(f"Sink: broker:shop at {broker}")
        url = URL.search(output.wait_for("Serving reporter at"))
        assert url is not None
        assert reported(url.group(0), "/send") == {"K_SINK": broker, "K_CE_OVERRIDES": None}
        delivered = subscriber.wait(before + 1)[before:]
        assert delivered[0].headers["ce-type"] == "run.sent"

        seen = len(output.lines)
        (directory / "func.yaml").write_text("name: reporter\nsink: ksvc:nowhere\n")
        warning = output.wait_for("warning: sink ksvc:nowhere is not bound", after=seen)
        assert "Service nowhere does not exist in namespace default: deploy nowhere first" in (
            warning
        )
        output.wait_for("Reloaded.", after=seen)
        assert reported(url.group(0))["K_SINK"] is None
