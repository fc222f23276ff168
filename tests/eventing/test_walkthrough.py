"""docs/eventing.md's walkthrough, run as written: its ``sh`` blocks, in order, in one
shell, against a real `unkai up` process, with kubectl and curl — so the page a
newcomer follows cannot rot. Then what the page says the reader sees: the deliveries,
the dead letters, the PingSource's events, as `unkai describe` counts them.

The page starts the platform with `unkai up --detach` on the default ports; this test
starts its own on free ports instead (no test may depend on fixed ports) and leaves
that one line out. Everything else runs unchanged.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lightkube import KubeConfig

from tests.support.cli import unkai, user_env
from unkai.kube import counts
from unkai.platform import state

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # four deploys, ~30 CLI starts
PAGE = Path(__file__).parents[2] / "docs" / "eventing.md"
BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def walkthrough() -> str:
    """The walkthrough's shell blocks as one script, without the line starting a platform."""
    text = PAGE.read_text()
    section = text.split("## Walkthrough", 1)[1].split("\n## ", 1)[0]
    blocks = BLOCK.findall(section)
    assert len(blocks) >= 6, "the walkthrough lost its shell blocks"
    lines = "".join(blocks).splitlines()
    assert "unkai up --detach" in lines
    return "\n".join(line for line in lines if line != "unkai up --detach")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    for tool in ("kubectl", "curl"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (the walkthrough uses it)")
    home = tmp_path_factory.mktemp("reader")
    env = user_env(home)
    started = unkai("up", "--detach", "--api-port", "0", "--port", "0", env=env)
    assert started.returncode == 0, started.stderr
    try:
        yield home
    finally:
        unkai("down", env=env, timeout=60)


def figures(home: Path) -> counts.EventingCounts:
    """The counts `unkai describe` shows, read the way it reads them (in-process: each
    `unkai describe` would start an interpreter)."""
    config = KubeConfig.from_file(state.PlatformDir.under(home / "data").kubeconfig).get()
    found = counts.read(config, "default")
    assert found is not None, "the platform's /metrics did not answer"
    return found


def eventually(home: Path, check: Callable[[counts.EventingCounts], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not check(found := figures(home)):
        assert time.monotonic() < deadline, f"never {what}: {found}"
        time.sleep(0.1)


def test_the_walkthrough_runs_as_written_and_shows_what_it_says(home: Path) -> None:
    bin_dir = str(Path(sys.executable).parent)
    env = user_env(home, HOME=str(home), PATH=f"{bin_dir}:{os.environ['PATH']}")
    env.pop("KUBECONFIG", None)
    script = "set -euo pipefail\n" + walkthrough()
    ran = subprocess.run(["bash", "-c", script], cwd=home, env=env, capture_output=True,
                         text=True, timeout=600, check=False)  # fmt: skip
    assert ran.returncode == 0, f"{ran.stdout}\n{ran.stderr}"
    assert "HTTP/1.1 202 Accepted" in ran.stdout  # curl's status line
    assert re.search(r"^202 Accepted \(id ", ran.stdout, re.MULTILINE)  # unkai send
    for kind in ("broker.eventing.knative.dev/default", "trigger.eventing.knative.dev/flaky",
                 "pingsource.sources.knative.dev/tick"):  # fmt: skip
        assert kind in ran.stdout  # kubectl get brokers,triggers,pingsources

    assert "DELIVERED" in ran.stdout  # unkai describe trigger/... shows counts

    # 250, 20, and the 5 sent for flaky; only 250 is >= 100
    eventually(home, lambda f: f.trigger("orders").delivered == 3, "orders got 3 events")
    assert figures(home).trigger("big-orders").delivered == 1
    flaky = lambda f: f.trigger("flaky").dead_lettered == 1  # noqa: E731
    eventually(home, flaky, "flaky's event dead-lettered")
    assert figures(home).trigger("flaky").retried == 2
    eventually(home, lambda f: f.trigger("pings").delivered >= 1, "a ping delivered")
    assert figures(home).brokers["default"] >= 4
