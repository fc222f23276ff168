"""What ``unkai deploy`` applies, as ``--dry-run`` prints it: golden files for the pure
builders, and the rendered manifests checked against Knative's own CRD schemas (what a
cluster's API server validates them with).

The golden files are ``golden/*.yaml``; after a deliberate change to the builders,
rewrite them with ``UNKAI_UPDATE_GOLDEN=1`` and review the diff. The CRDs are read from
``../shared/knative-crds/`` beside the checkout (CI has it; a user's clone does not, and
those tests skip saying so).
"""

import functools
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from tests.kube.test_deploy import Recorded

from unkai.kube import deploy

GOLDEN = Path(__file__).parent / "golden"
CRDS = Path(__file__).resolve().parents[2].parent / "shared" / "knative-crds"
CRD_FILES = {"Service": "serving-service.yaml", "Trigger": "eventing-trigger.yaml"}

FULL = """\
name: orders
signature: cloudevent
env:
  LEVEL: debug
  RETRIES: 3
deploy:
  namespace: shop
  concurrency: 4
  timeout: 120
  labels: {team: payments}
  annotations: {example.com/owner: alice}
  scale: {min: 1, max: 5, target: 10, metric: concurrency}
  subscriptions:
    - broker: default
      filters: {type: com.example.order.placed}
    - broker: audit
"""
MINIMAL = "name: hello\n"


def _function(tmp_path: Path, func_yaml: str) -> deploy.Function:
    directory = tmp_path / "fn"
    directory.mkdir()
    (directory / "func.yaml").write_text(func_yaml)
    (directory / "func.py").write_text("def handle(event):\n    return event\n")
    return deploy.prepare(directory, Recorded())


def _rendered(tmp_path: Path, func_yaml: str, **options: Any) -> list[dict[str, Any]]:
    function = _function(tmp_path, func_yaml)
    where = deploy.namespace_of(function, deploy.Options(), "default")
    return deploy.render(function, namespace=where, **options)


CASES = {
    "full": (FULL, {"image": "registry.example.com/shop/orders:1@sha256:" + "0" * 64}),
    "minimal": (MINIMAL, {"image": "registry.example.com/team/hello:1@sha256:" + "1" * 64}),
    "restarted": (MINIMAL, {"image": "hello:1", "restarted_at": "2026-12-05T12:00:00Z"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_builders_render_what_the_golden_file_holds(tmp_path: Path, case: str) -> None:
    func_yaml, options = CASES[case]
    text = yaml.safe_dump_all(_rendered(tmp_path, func_yaml, **options), sort_keys=False)
    golden = GOLDEN / f"{case}.yaml"
    if os.environ.get("UNKAI_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text(), f"rewrite {golden} with UNKAI_UPDATE_GOLDEN=1 if meant"


def test_a_bundle_deploy_names_the_bundle_in_the_namespace(tmp_path: Path) -> None:
    function = _function(tmp_path, MINIMAL)
    [service] = deploy.render(function, namespace="team")
    image = service["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"unkai.local/team/hello@{function.digest}"


def _schema(kind: str) -> dict[str, Any]:
    if not CRDS.is_dir():
        pytest.skip(f"Knative's CRDs are not at {CRDS} (CI has ../shared beside the checkout)")
    return _read_schema(kind)


@functools.cache
def _read_schema(kind: str) -> dict[str, Any]:
    crd = yaml.load((CRDS / CRD_FILES[kind]).read_text(), Loader=yaml.CSafeLoader)
    [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def _problems(manifest: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(_schema(manifest["kind"]))
    return [
        f"{'.'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_manifests_pass_knatives_crd_schemas(tmp_path: Path, case: str) -> None:
    func_yaml, options = CASES[case]
    for manifest in _rendered(tmp_path, func_yaml, **options):
        assert _problems(manifest) == [], manifest["kind"]


def test_the_schema_check_finds_what_a_cluster_would_refuse(tmp_path: Path) -> None:
    """The check above could pass for want of a schema; this one shows it reads one."""
    [service, trigger, _] = _rendered(tmp_path, FULL, image="orders:1")
    service["spec"]["template"]["spec"]["containerConcurrency"] = "four"
    trigger["spec"]["broker"] = ["default"]
    assert _problems(service) == [
        "spec.template.spec.containerConcurrency: 'four' is not of type 'integer'"
    ]
    assert _problems(trigger) == ["spec.broker: ['default'] is not of type 'string'"]
