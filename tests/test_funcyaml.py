"""func.yaml: what users write, what they get back when it is wrong.

Aspects: defaults a minimal file gets; every section parses; errors name the field
path and the line; YAML syntax errors and non-mappings; sizes in human units; the
published JSON Schema matches the model.
"""

import json
from pathlib import Path

import pytest

from unkai.api import funcyaml
from unkai.api.yamlsource import SourceError

ROOT = Path(__file__).parent.parent


def problems_of(text: str) -> list[str]:
    with pytest.raises(SourceError) as caught:
        funcyaml.parse(text)
    return [str(problem) for problem in caught.value.problems]


def test_minimal_file_gets_defaults() -> None:
    spec = funcyaml.parse("name: hello\n")
    assert spec.signature is None
    assert (spec.module, spec.function) == ("func", "handle")
    assert spec.runtime.max_body_size == 10 * 1024 * 1024
    assert spec.deploy.scale.min is None
    assert spec.requirements == "requirements.txt"


def test_full_file_parses_every_section() -> None:
    spec = funcyaml.parse(
        """
name: orders
signature: cloudevent
entrypoint: app.main:on_event
env: {GREETING: hi}
requirements: [requests>=2, "pyyaml"]
runtime: {maxBodySize: 2Mi, syncWorkers: 4, gracePeriod: 5}
deploy:
  namespace: shop
  scale: {min: 1, max: 5, target: 10, metric: rps, utilization: 80, initial: 2}
  concurrency: 10
  timeout: 60
  subscriptions:
    - filters: {type: com.example.order}
"""
    )
    assert spec.signature is funcyaml.Signature.CLOUDEVENT
    assert (spec.module, spec.function) == ("app.main", "on_event")
    assert spec.runtime.max_body_size == 2 * 1024 * 1024
    assert spec.runtime.sync_workers == 4
    assert spec.deploy.scale.metric == "rps"
    assert spec.deploy.subscriptions[0].broker == "default"
    assert spec.requirement_lines(Path(".")) == ["requests>=2", "pyyaml"]


def test_errors_name_field_and_line() -> None:
    found = problems_of("name: ok\ndeploy:\n  scale:\n    min: -1\n  timeout: 0\n")
    assert any(p.startswith("line 4: deploy.scale.min:") for p in found), found
    assert any(p.startswith("line 5: deploy.timeout:") for p in found), found


def test_unknown_fields_are_reported_not_ignored() -> None:
    assert problems_of("name: ok\nsignatur: http\n") == ["line 2: signatur: unknown field"]


def test_bad_name_and_signature() -> None:
    found = problems_of("name: Hello_World\nsignature: grpc\n")
    assert found[0].startswith("line 1: name:")
    assert found[1].startswith("line 2: signature:")
    assert "'http'" in found[1]


def test_min_above_max_is_rejected() -> None:
    found = problems_of("name: ok\ndeploy:\n  scale: {min: 5, max: 2}\n")
    assert "min (5) must not be greater than max (2)" in found[0]


def test_bad_env_names_and_sizes() -> None:
    found = problems_of("name: ok\nenv:\n  1BAD: x\nruntime:\n  maxBodySize: lots\n")
    assert any("env.1BAD" in p and "line 3" in p for p in found), found
    assert any("runtime.maxBodySize" in p and "not a size" in p for p in found), found


def test_yaml_syntax_error_points_at_its_line() -> None:
    found = problems_of("name: ok\nenv: {A: 1\n")
    assert len(found) == 1
    assert "invalid YAML" in found[0]
    assert found[0].startswith("line 3")


def test_a_list_is_not_a_func_yaml() -> None:
    assert problems_of("- name: ok\n") == [
        "line 1: (document): expected a mapping of fields, got list"
    ]


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="unkai init"):
        funcyaml.load(tmp_path)


def test_requirements_file_lines_skip_comments(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("# deps\nrequests>=2  # http\n\nrich\n")
    spec = funcyaml.parse("name: ok\n")
    assert spec.requirement_lines(tmp_path) == ["requests>=2", "rich"]


def test_published_schema_is_current() -> None:
    published = ROOT / "docs" / "func-yaml.schema.json"
    assert json.loads(published.read_text()) == funcyaml.json_schema(), (
        "regenerate with: python -m unkai.api.funcyaml > docs/func-yaml.schema.json"
    )
