"""`unkai.kube.deploy` in-process, against an embedded `unkai up` whose revisions fare as
the test says (no instances run: what an instance does is tests/cli's end-to-end part).

Aspects: a deploy reports its steps (each ended, also on failure) and returns the Ready
Service; an unchanged function is no new generation; a revision that fails ends the wait
with its reason; a missing namespace is refused before anything is uploaded; the
function's Triggers follow deploy.subscriptions, and a refused one changes nothing.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightkube
import pytest
from lightkube.core.exceptions import ApiError
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace
from lightkube.types import PatchType
from tests.controllers.readiness import READY, InMemoryReadiness, failing
from tests.support.embedded import embedded

from unkai.kube import client, deploy, kinds, manifests
from unkai.platform.embedded import Platform, Settings

HELLO = 'def handle(request):\n    return {"message": "hello"}\n'


@dataclass
class Recorded:
    """A :class:`deploy.Progress` that keeps what it was told."""

    steps: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    waited: list[str] = field(default_factory=list)
    open: bool = False

    def step(self, activity: str) -> None:
        assert not self.open, "steps do not nest"
        self.steps.append(activity)
        self.open = True

    def waiting(self, what: str, elapsed: float) -> None:
        assert self.open
        self.waited.append(what)

    def done(self) -> None:
        self.open = False

    def note(self, line: str) -> None:
        self.notes.append(line)


@dataclass
class Target:
    platform: Platform
    readiness: InMemoryReadiness
    api: lightkube.Client

    def generation(self) -> int:
        """The hello Service's generation: a new one for every change of its spec."""
        service = self.api.get(kinds.resource(kinds.SERVICE), "hello")
        return int(service.metadata.generation)

    def revisions(self) -> list[str]:
        found = self.api.list(kinds.resource(kinds.REVISION), namespace="default")
        return sorted(obj.metadata.name for obj in found)


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Target]:
    readiness = InMemoryReadiness()
    settings = Settings(data_dir=tmp_path / "data", api_port=0, gateway_port=0)
    with embedded(settings, readiness=readiness) as platform:
        api = client.connect(context=None, local=platform.files.kubeconfig, namespace="default")
        try:
            yield Target(platform, readiness, api)
        finally:
            api.close()


def function(tmp_path: Path, func_yaml: str = "name: hello\n") -> Path:
    directory = tmp_path / "hello"
    directory.mkdir(exist_ok=True)
    (directory / "func.yaml").write_text(func_yaml)
    (directory / "func.py").write_text(HELLO)
    return directory


def ship(target: Target, directory: Path, **options: Any) -> tuple[dict[str, Any], Recorded]:
    """Deploy ``directory`` with ``options`` (as :class:`deploy.Options`); the Service and
    what the deploy reported."""
    progress = Recorded()
    prepared = deploy.prepare(directory, progress)
    service = deploy.deploy(target.api, prepared, progress, deploy.Options(**options))
    return service, progress


def test_a_deploy_reports_its_steps_and_returns_the_ready_service(
    tmp_path: Path, target: Target
) -> None:
    target.readiness.set("hello-00001", READY)
    directory = function(tmp_path)
    service, progress = ship(target, directory)
    assert re.fullmatch(r"http://hello\.default\.localhost:\d+", service["status"]["url"])
    assert progress.steps[0] == f"Packing {directory}…"
    assert re.fullmatch(r"Uploading \d+ B…", progress.steps[1])
    assert progress.steps[2:] == ["Waiting for the new revision…"]
    assert not progress.open
    assert re.fullmatch(r"Bundled 2 files, \d+ B \(\d+ B packed\)", progress.notes[0])
    assert re.fullmatch(
        r"Deployed hello to namespace default \(sha256:[0-9a-f]{12}…\), generation 1",
        progress.notes[1],
    )
    assert len(progress.notes) == 2

    _, again = ship(target, directory)  # unchanged: the same Service, no new revision
    assert again.notes[1] == progress.notes[1]
    assert target.revisions() == ["hello-00001"]


def test_a_revision_that_fails_ends_the_wait_with_its_reason(
    tmp_path: Path, target: Target
) -> None:
    target.readiness.set("hello-00001", failing("ExitCode1", "RuntimeError: no database"))
    progress = Recorded()
    prepared = deploy.prepare(function(tmp_path), progress)
    with pytest.raises(deploy.NotReadyError) as raised:
        deploy.deploy(target.api, prepared, progress, deploy.Options())
    assert str(raised.value) == (
        'hello is not ready: RevisionFailed: Revision "hello-00001" failed with message: '
        "RuntimeError: no database."
    )
    assert not progress.open


def test_a_slow_revision_times_out_saying_what_it_waits_for(tmp_path: Path, target: Target) -> None:
    progress = Recorded()
    prepared = deploy.prepare(function(tmp_path), progress)
    with pytest.raises(deploy.NotReadyError) as raised:
        deploy.deploy(target.api, prepared, progress, deploy.Options(timeout=1))
    assert str(raised.value) == (
        "hello was not ready after 1s, waiting for hello-00001: Deploying"
        " (see `unkai describe hello`; a longer wait: --timeout)"
    )
    assert set(progress.waited) == {"hello-00001: Deploying"}
    assert not progress.open


def test_a_missing_namespace_is_refused_before_anything_is_uploaded(
    tmp_path: Path, target: Target
) -> None:
    progress = Recorded()
    prepared = deploy.prepare(function(tmp_path), progress)
    with pytest.raises(deploy.NoNamespaceError) as raised:
        deploy.deploy(target.api, prepared, progress, deploy.Options(namespace="brandnew"))
    assert str(raised.value) == (
        "namespace brandnew does not exist: create it with `kubectl create namespace brandnew`"
    )
    assert not target.platform.bundles.of("brandnew").has(prepared.digest)
    assert progress.steps == [f"Packing {tmp_path / 'hello'}…"]


def test_the_namespace_is_the_flags_else_func_yamls_else_the_clients(
    tmp_path: Path, target: Target
) -> None:
    for namespace in ("brandnew", "flagged"):
        target.api.create(Namespace(metadata=ObjectMeta(name=namespace)))
    directory = function(tmp_path, "name: hello\ndeploy: {namespace: brandnew}\n")
    from_func_yaml, _ = ship(target, directory, wait=False)
    flagged, _ = ship(target, directory, namespace="flagged", wait=False)
    from_client, _ = ship(target, function(tmp_path), wait=False)
    namespaces = [obj["metadata"]["namespace"] for obj in (from_func_yaml, flagged, from_client)]
    assert namespaces == ["brandnew", "flagged", "default"]


def test_triggers_follow_the_subscriptions(tmp_path: Path, target: Target) -> None:
    def deploy_with(subscriptions: str) -> Recorded:
        directory = function(tmp_path, f"name: hello\ndeploy:\n  subscriptions: {subscriptions}\n")
        return ship(target, directory, wait=False)[1]

    def triggers() -> dict[str, str]:
        found = deploy.function_triggers(target.api, "hello", "default")
        return {item["metadata"]["name"]: item["spec"]["broker"] for item in found}

    deploy_with("[{broker: default}, {broker: orders}]")
    assert triggers() == {"hello-0": "default", "hello-1": "orders"}

    changed = deploy_with("[{broker: payments}]")  # a new broker, one subscription fewer
    assert changed.notes[2:] == [
        "Deleted trigger hello-1 (no longer in deploy.subscriptions)",
        "Recreated trigger hello-0 (its broker changed)",
    ]
    assert triggers() == {"hello-0": "payments"}
    generation = target.generation()

    with pytest.raises(ApiError, match='invalid key name "Bad Key"'):
        deploy_with("[{broker: payments, filters: {Bad Key: x}}]")
    assert triggers() == {"hello-0": "payments"}  # checked before anything changed
    assert target.generation() == generation

    deploy_with("[]")
    assert triggers() == {}


def test_after_a_manual_split_a_deploy_keeps_it_and_says_how_to_send_all(
    tmp_path: Path, target: Target
) -> None:
    directory = function(tmp_path)
    for number in (1, 2, 3):
        target.readiness.set(f"hello-0000{number}", READY)
    ship(target, directory)
    (directory / "func.py").write_text(HELLO.replace("hello", "hello again"))
    _, second = ship(target, directory)
    assert len(second.notes) == 2  # no split yet: the new revision has it all
    split = [
        {"revisionName": "hello-00001", "percent": 90},
        {"revisionName": "hello-00002", "percent": 10, "tag": "canary"},
    ]
    target.api.patch(
        kinds.resource(kinds.SERVICE), "hello", {"spec": {"traffic": split}},
        patch_type=PatchType.MERGE,
    )  # fmt: skip
    (directory / "func.py").write_text(HELLO.replace("hello", "third"))
    service, third = ship(target, directory)
    assert [entry["percent"] for entry in service["status"]["traffic"]] == [90, 10]
    assert third.notes[2:] == [
        "Traffic of hello stays as it was split (Knative keeps spec.traffic):",
        "   90%  hello-00001",
        "   10%  hello-00002  #canary",
        "The new revision hello-00003 gets 0%. To send it all: "
        "`unkai traffic hello --split @latest=100`",
    ]


def test_deploying_a_failed_function_again_starts_it_as_a_new_revision(
    tmp_path: Path, target: Target
) -> None:
    target.readiness.set("hello-00001", failing("CrashLoopBackOff", "gave up after 10 failed"))
    directory = function(tmp_path)
    with pytest.raises(deploy.NotReadyError, match="gave up after 10 failed"):
        ship(target, directory)
    target.readiness.set("hello-00002", READY)
    service, _ = ship(target, directory)  # unchanged, but asked again
    assert target.revisions() == ["hello-00001", "hello-00002"]
    stamp = service["spec"]["template"]["metadata"]["annotations"][manifests.RESTARTED_AT]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)
    ship(target, directory)  # well now: an unchanged deploy changes nothing
    assert target.revisions() == ["hello-00001", "hello-00002"]
