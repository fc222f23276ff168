"""Code nobody here wrote, deployed with ``unkai deploy``'s own steps to a real ``unkai up``
and called through its gateway, the way a user would after a deploy.

The folders beside this file recreate, from their documented shape, SeBS's Python
functions that need no cloud storage (``sebs_*``: ``function.py`` with
``handler(event)``, requirements from PyPI), Knative func's two Python templates
(``knative_*``: func's own func.yaml, the ``function/`` package) and a Flask and a
FastAPI app (``flask_app``, ``fastapi_app``). Only a func.yaml with a name is
added to SeBS's folders (its ``function.py`` is found as Knative func's ``function``
package is); nothing else is changed.

SeBS's results are checked as SeBS's own ``validate_output`` checks them (its
``input.py`` of each benchmark: the inputs ``generate_input`` makes for the ``test`` and
``small`` sizes, and the values or MD5 checksums it expects for seed 42 with igraph
0.11.4). The graph benchmarks get these only when the handler runs on the thread that
imported igraph, since igraph draws from ``random`` there alone.

The same platform shows what users see when things go wrong: a Secret read through
func's ``{{ secret:NAME:KEY }}``, a module that exits while imported (its exit code in
``unkai logs`` and on ``/metrics``), and a requirement pip cannot install (pip's own
words in ``unkai logs``).

One platform serves the whole module: each deploy installs real requirements.
"""

import base64
import hashlib
import json
import shutil
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import lightkube
import pytest
from cloudevents.core.bindings import http as binding
from cloudevents.core.v1.event import CloudEvent
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Secret
from tests.support.embedded import embedded
from tests.support.servers import FUNCTIONS

from unkai.kube import client, deploy, kinds
from unkai.platform.embedded import Platform, Settings
from unkai.platform.logs import ServiceLogs, readable

pytestmark = pytest.mark.slow

# SeBS's expectations for seed 42 (benchmarks/500.scientific/50x.graph-*/input.py).
PAGERANK_FIRST = {10: 0.1, 10000: 0.00121224809}
PAGERANK_TOLERANCE = 1e-9
MST_MD5 = {10: "2731b0a338d620aac853321b832983c3", 10000: "ebac1069ed7b96771ac4a9684bdfc6ba"}
BFS_MD5 = {10: "1dfb71bebaebcfb1a850f5b81610c2f7", 10000: "14160bc08930584610005d05cc20989f"}
SIZES = (10, 10000)  # SeBS's "test" and "small"


class Quiet:
    """A :class:`deploy.Progress` that keeps the notes, for the failure message."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def step(self, activity: str) -> None:
        self.notes.append(activity)

    def waiting(self, what: str, elapsed: float) -> None:
        pass

    def done(self) -> None:
        pass

    def note(self, line: str) -> None:
        self.notes.append(line)


class Deployed:
    """The module's platform: deploys a fixture folder once, then calls it by name."""

    def __init__(self, platform: Platform, api: lightkube.Client) -> None:
        self.platform = platform
        self.api = api
        self.http = httpx2.Client(base_url=f"http://127.0.0.1:{platform.gateway.port}", timeout=120)
        self.names: dict[str | Path, str] = {}

    def service(self, folder: str | Path, *, wait: bool = True) -> str:
        """The host of ``folder``'s Service (a fixture's name, or a path), deployed on
        first use as ``unkai deploy`` does."""
        if folder not in self.names:
            progress = Quiet()
            function = deploy.prepare(FUNCTIONS / folder, progress)
            deploy.deploy(self.api, function, progress, deploy.Options(wait=wait, timeout=300))
            self.names[folder] = f"{function.spec.name}.default.localhost"
        return self.names[folder]

    def metrics(self) -> str:
        """The platform's ``/metrics``, as Prometheus scrapes it (with the token)."""
        api = self.platform.api
        assert api.certificate is not None
        trust = ssl.create_default_context(cafile=str(api.certificate.ca_file))
        token = self.platform.files.token()
        with httpx2.Client(verify=trust) as scraper:
            headers = {"Authorization": f"Bearer {token}"}
            return scraper.get(f"{api.url}/metrics", headers=headers).text

    def logs(self, service: str) -> list[str]:
        """What ``unkai logs SERVICE`` prints of each line (its message)."""
        lines = ServiceLogs(self.platform.files, "default", service).lines()
        return [readable(line).message for line in lines]

    def request(
        self, folder: str | Path, method: str, path: str = "/", **kwargs: Any
    ) -> httpx2.Response:
        headers = {"host": self.service(folder), **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)

    def call(self, folder: str, event: dict[str, Any]) -> dict[str, Any]:
        """What the ``event`` function answers for ``event``, sent as JSON (SeBS's input)."""
        response = self.request(folder, "POST", json=event)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    data = tmp_path_factory.mktemp("platform")
    with embedded(Settings(data_dir=data, api_port=0, gateway_port=0)) as running:
        api = client.connect(context=None, local=running.files.kubeconfig, namespace="default")
        deployed = Deployed(running, api)
        try:
            yield deployed
        finally:
            deployed.http.close()
            api.close()


def md5_of(result: object) -> str:
    return hashlib.md5(json.dumps(result, separators=(",", ":")).encode()).hexdigest()


@pytest.mark.parametrize("size", SIZES)
def test_sebs_graph_pagerank_passes_its_validation(platform: Deployed, size: int) -> None:
    result = platform.call("sebs_graph_pagerank", {"size": size, "seed": 42})["result"]
    assert isinstance(result, float | int)
    assert abs(result - PAGERANK_FIRST[size]) <= PAGERANK_TOLERANCE


@pytest.mark.parametrize("size", SIZES)
def test_sebs_graph_mst_passes_its_validation(platform: Deployed, size: int) -> None:
    output = platform.call("sebs_graph_mst", {"size": size, "seed": 42})
    assert md5_of(output["result"]) == MST_MD5[size]
    assert set(output["measurement"]) == {"graph_generating_time", "compute_time"}


@pytest.mark.parametrize("size", SIZES)
def test_sebs_graph_bfs_passes_its_validation(platform: Deployed, size: int) -> None:
    result = platform.call("sebs_graph_bfs", {"size": size, "seed": 42})["result"]
    assert isinstance(result, list)
    assert len(result) == 3
    assert md5_of(result) == BFS_MD5[size]


def test_a_warm_instance_gives_the_seeded_answer_every_time(platform: Deployed) -> None:
    """SeBS repeats each call on a warm instance: every repetition must validate. The
    instance takes one event at a time (Lambda's model), and its Service says so, so
    the autoscaler scales out instead."""
    answers = {md5_of(platform.call("sebs_graph_bfs", {"size": 10000, "seed": 42})["result"])}
    answers |= {md5_of(platform.call("sebs_graph_bfs", {"size": 10000, "seed": 42})["result"])}
    assert answers == {BFS_MD5[10000]}
    service = platform.api.get(kinds.resource(kinds.SERVICE), "sebs-graph-bfs")
    assert service.to_dict()["spec"]["template"]["spec"]["containerConcurrency"] == 1


@pytest.mark.parametrize("random_len", [10, 1000])
def test_sebs_dynamic_html_passes_its_validation(platform: Deployed, random_len: int) -> None:
    event = {"username": "testname", "random_len": random_len}
    page = platform.call("sebs_dynamic_html", event)["result"]
    assert "Welcome testname!" in page
    assert "Data generated at:" in page
    assert page.count("<li>") == random_len


def test_sebs_sleep_passes_its_validation(platform: Deployed) -> None:
    assert platform.call("sebs_sleep", {"sleep": 1}) == {"result": 1}


def test_a_flask_app_answers_with_its_routes_and_module_state(platform: Deployed) -> None:
    hello = platform.request("flask_app", "GET", "/", params={"name": "Ada"})
    assert (hello.status_code, hello.text) == (200, "hello Ada from flask")
    for name in ("a", "b"):
        assert platform.request("flask_app", "POST", "/items", json={"name": name}).is_success
    assert platform.request("flask_app", "GET", "/items").json()[-2:] == ["a", "b"]
    assert platform.request("flask_app", "GET", "/missing").status_code == 404


def test_a_fastapi_app_answers_with_its_routes_validation_and_lifespan(
    platform: Deployed,
) -> None:
    hello = platform.request("fastapi_app", "GET", "/", params={"name": "Ada"})
    assert hello.json() == {"message": "hello Ada from fastapi"}  # set by its lifespan
    item = platform.request("fastapi_app", "POST", "/items", json={"name": "tea", "price": 2.5})
    assert item.json() == {"name": "tea", "with_tax": 3.0}
    invalid = platform.request("fastapi_app", "POST", "/items", json={"name": "tea"})
    assert invalid.status_code == 422


def test_knative_funcs_http_template_answers_ok_with_its_run_envs(platform: Deployed) -> None:
    response = platform.request("knative_http", "GET", "/")
    assert (response.status_code, response.text) == (200, "OK")
    state = platform.request("knative_http", "GET", "/state")
    assert state.json() == {"greeting": "hello from run.envs"}


def test_knative_funcs_cloudevents_template_replies_with_an_event(platform: Deployed) -> None:
    attributes = {"type": "com.example.ping", "source": "/tests", "id": "7"}
    sent = CloudEvent({**attributes, "datacontenttype": "application/json"}, {"n": 1})
    message = binding.to_binary_event(sent)
    response = platform.request(
        "knative_cloudevents", "POST", headers=dict(message.headers), content=message.body
    )
    assert response.status_code == 200, response.text
    reply = binding.from_http_event(binding.HTTPMessage(dict(response.headers), response.content))
    assert (reply.get_type(), reply.get_id()) == ("function.response", "response-7")
    assert reply.get_data() == {"message": "OK", "got": {"n": 1}}


def test_run_envs_read_from_a_secret_reach_the_function(platform: Deployed, tmp_path: Path) -> None:
    """func's ``{{ secret:NAME:KEY }}`` in run.envs: the Service reads the Secret (its
    value never passes through func.yaml or the bundle) and ``start(cfg)`` sees it."""
    text = base64.b64encode(b"hello from a secret").decode()
    secret = Secret(metadata=ObjectMeta(name="greetings"), data={"text": text})
    platform.api.create(secret, namespace="default")
    directory = shutil.copytree(FUNCTIONS / "knative_http", tmp_path / "knative_secret")
    func_yaml = (directory / "func.yaml").read_text()
    func_yaml = func_yaml.replace("name: knative-http", "name: knative-secret")
    func_yaml = func_yaml.replace(
        "value: hello from run.envs", "value: '{{ secret:greetings:text }}'"
    )
    (directory / "func.yaml").write_text(func_yaml)
    state = platform.request(directory, "GET", "/state")
    assert state.json() == {"greeting": "hello from a secret"}


def test_a_function_that_cannot_start_shows_its_exit_code_in_logs_and_metrics(
    platform: Deployed,
) -> None:
    """Its module exits with code 3 while imported: each failed start is counted on
    ``/metrics`` by exit code, per revision, and told in ``unkai logs``."""
    platform.service("exits_at_import", wait=False)
    failed = 'unkai_revision_instance_failures_total{namespace="default",reason="ExitCode3",'
    failed += 'revision="exits-at-import-00001"}'
    deadline = time.monotonic() + 60
    while failed not in (text := platform.metrics()):
        assert time.monotonic() < deadline, "no failed start was counted"
        time.sleep(0.1)
    told = platform.logs("exits-at-import")
    assert any(line.startswith("an instance failed to start: ExitCode3") for line in told)
    served = 'unkai_gateway_outcomes_total{namespace="default",outcome="timeout",'
    assert any(line.startswith(served) for line in text.splitlines())  # per revision


def test_a_requirement_pip_cannot_install_shows_in_the_logs(
    platform: Deployed, tmp_path: Path
) -> None:
    directory = tmp_path / "needs-missing"
    directory.mkdir()
    (directory / "func.yaml").write_text("name: needs-missing\n")
    (directory / "func.py").write_text("def handle(request):\n    return 'never'\n")
    (directory / "requirements.txt").write_text("--no-index\nnot-available-offline==1.0\n")
    platform.service(directory, wait=False)
    deadline = time.monotonic() + 60
    while not any("RequirementsFailed" in line for line in platform.logs("needs-missing")):
        assert time.monotonic() < deadline, platform.logs("needs-missing")
        time.sleep(0.1)
    [failed, *_] = [line for line in platform.logs("needs-missing") if "Requirements" in line]
    assert failed.startswith("an instance failed to start: RequirementsFailed: ")
    assert "No matching distribution found for not-available-offline==1.0" in failed
