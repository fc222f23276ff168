"""func.yaml: what users write, what they get back when it is wrong.

Aspects: defaults a minimal file gets; every section parses; errors name the field
path as the user wrote it (no pydantic type names) and the line; patterns are explained,
not shown as regexes; duplicate keys are errors; YAML syntax errors and non-mappings;
sizes in human units; any value in any field is a spec or an error, never a crash; env
values may be unquoted scalars, taken as written; a requirements file named must exist
and is read as pip reads it; the published JSON Schema matches the model. Knative
func's own format is read as it is: mapped where it has a meaning, build-only fields
named in a note, contradictions refused with the field and line; pyproject.toml's
dependencies are requirements unless func.yaml names its own.
"""

import contextlib
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from unkai.api import funcyaml
from unkai.api.yamlsource import SourceError, parse_path

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
    found = problems_of("name: Hello_World\nsignature: soap\n")
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
    (tmp_path / "requirements.txt").write_text(
        "# deps\nrequests>=2  # http\n\nrich\nfile:./lib#egg=lib\nlong\\\n  -name==1\n"
    )
    spec = funcyaml.parse("name: ok\n")
    assert spec.requirement_lines(tmp_path) == [
        "requests>=2",
        "rich",
        "file:./lib#egg=lib",
        "long  -name==1",
    ]


def load_problems(directory: Path, text: str) -> list[str]:
    (directory / "func.yaml").write_text(text)
    with pytest.raises(SourceError) as caught:
        funcyaml.load(directory)
    return [str(problem) for problem in caught.value.problems]


def test_named_requirements_file_must_exist(tmp_path: Path) -> None:
    found = load_problems(tmp_path, "name: ok\nrequirements: reqs.txt\n")
    assert found == [f"line 2: requirements: requirements file reqs.txt not found in {tmp_path}"]
    (tmp_path / "reqs.txt").mkdir()
    found = load_problems(tmp_path, "name: ok\nrequirements: reqs.txt\n")
    assert found == ["line 2: requirements: reqs.txt is a directory, not a requirements file"]


def test_default_requirements_file_may_be_absent(tmp_path: Path) -> None:
    (tmp_path / "func.yaml").write_text("name: ok\nrequirements: requirements.txt\n")
    assert funcyaml.load(tmp_path).requirement_lines(tmp_path) == []


def test_requirements_file_gone_after_loading_is_named(tmp_path: Path) -> None:
    (tmp_path / "reqs.txt").write_text("rich\n")
    (tmp_path / "func.yaml").write_text("name: ok\nrequirements: reqs.txt\n")
    spec = funcyaml.load(tmp_path)
    (tmp_path / "reqs.txt").unlink()
    with pytest.raises(SourceError) as caught:
        spec.requirement_lines(tmp_path)
    assert [str(problem) for problem in caught.value.problems] == [
        f"requirements: requirements file reqs.txt not found in {tmp_path}"
    ]


@pytest.mark.parametrize("value", ["1.5", "null", "[1]", "true", "{a: 1}"])
def test_sizes_of_a_wrong_type_are_errors_not_crashes(value: str) -> None:
    found = problems_of(f"name: ok\nruntime:\n  maxBodySize: {value}\n")
    assert len(found) == 1
    assert found[0].startswith("line 3: runtime.maxBodySize: not a size:"), found


def test_paths_never_carry_type_names() -> None:
    assert problems_of("name: ok\nrequirements: 5\n") == [
        "line 2: requirements: expected a requirements file name or a list of requirement lines"
    ]
    assert problems_of("name: ok\nrequirements:\n  - rich\n  - 1\n") == [
        "line 4: requirements[1]: Input should be a valid string"
    ]


def test_patterns_are_explained_not_shown() -> None:
    found = problems_of("name: Hello_World\nentrypoint: func.handle\nenv: {1BAD: x}\n")
    assert found == [
        "line 1: name: 'Hello_World' is not a DNS label (lowercase letters, digits and '-',"
        " starting with a letter, ending with a letter or digit, at most 63 characters)",
        "line 2: entrypoint: 'func.handle' is not module:function (a module such as func or"
        " app.main, a colon, then the function's name: func:handle)",
        "line 3: env.1BAD: invalid name: '1BAD' is not an environment variable name (letters,"
        " digits and '_', not starting with a digit)",
    ]


def test_duplicate_keys_name_both_lines() -> None:
    assert problems_of("name: a\nname: b\n") == [
        "line 2: name: duplicate key (first given on line 1)"
    ]
    found = problems_of("name: ok\ndeploy:\n  scale:\n    min: 1\n    min: 2\n")
    assert found == ["line 5: deploy.scale.min: duplicate key (first given on line 4)"]
    found = problems_of("name: ok\ndeploy:\n  timeout: 1\ndeploy:\n  timeout: 2\n")
    assert found == ["line 4: deploy: duplicate key (first given on line 2)"]


def test_unhashable_key_is_a_yaml_error() -> None:
    assert problems_of("name: ok\n? [a, b]\n: x\n") == [
        "line 2: (document): invalid YAML: found unhashable key"
    ]


def test_env_scalars_are_taken_as_written() -> None:
    spec = funcyaml.parse(
        "name: ok\nenv:\n  LISTEN: 8080\n  DEBUG: true\n  MODE: 0755\n  VERSION: 1.10\n"
        "  FLAG: yes\n  DAY: 2024-01-01\n  EMPTY: ''\n  <<: {MERGED: true}\n"
    )
    assert spec.env == {
        "LISTEN": "8080",
        "DEBUG": "true",
        "MODE": "0755",
        "VERSION": "1.10",
        "FLAG": "yes",
        "DAY": "2024-01-01",
        "EMPTY": "",
        "MERGED": "true",
    }


def test_env_without_a_value_says_how_to_write_one() -> None:
    assert problems_of("name: ok\nenv:\n  A:\n  B: [1]\n") == [
        'line 3: env.A: no value (write "" for an empty one)',
        "line 4: env.B: expected text, a number or a boolean, not a list or mapping",
    ]


YAML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.dates(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)
FIELDS = [
    *("name", "signature", "entrypoint", "env", "env.A", "requirements", "requirements[0]"),
    *("runtime", "runtime.maxBodySize", "runtime.syncWorkers", "runtime.gracePeriod"),
    *("deploy.namespace", "deploy.scale", "deploy.scale.min", "deploy.scale.target"),
    *("deploy.timeout", "deploy.annotations", "deploy.subscriptions"),
    *("deploy.subscriptions[0].broker", "deploy.subscriptions[0].filters"),
]


def nest(path: tuple[str | int, ...], value: object) -> object:
    """``("a", 0, "b")``, v -> ``{"a": [{"b": v}]}``."""
    if not path:
        return value
    inner = nest(path[1:], value)
    return [inner] if isinstance(path[0], int) else {path[0]: inner}


@given(field=st.sampled_from(FIELDS), value=YAML_VALUES)
def test_any_value_anywhere_is_a_spec_or_a_source_error(field: str, value: object) -> None:
    placed = nest(parse_path(field), value)
    assert isinstance(placed, dict)
    text = yaml.safe_dump({"name": "ok", **placed})
    with contextlib.suppress(SourceError):
        funcyaml.parse(text, directory=Path("/nonexistent"))


def test_published_schema_is_current() -> None:
    published = ROOT / "docs" / "func-yaml.schema.json"
    assert json.loads(published.read_text()) == funcyaml.json_schema(), (
        "regenerate with: python -m unkai.api.funcyaml > docs/func-yaml.schema.json"
    )


# Knative func's own format (unkai.api.funcyaml_knative) and pyproject.toml dependencies.

KNATIVE = """\
specVersion: 0.36.0
name: orders
runtime: python
created: 2026-12-05T09:00:00.000000+00:00
"""


def knative_problems(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SourceError) as caught:
        funcyaml.parse(text, environ=environ)
    return [str(problem) for problem in caught.value.problems]


def test_funcs_own_file_maps_onto_what_unkai_runs() -> None:
    spec = funcyaml.parse(
        KNATIVE
        + """\
namespace: shop
invoke: cloudevent
run:
  envs:
    - {name: GREETING, value: hi}
    - {name: TOKEN, value: "{{ env:LOCAL_TOKEN }}"}
deploy:
  annotations: {team: billing}
  labels: [{key: tier, value: backend}]
  options:
    scale: {min: 1, max: 5, metric: rps, target: 20, utilization: 80}
    resources: {limits: {concurrency: 4}}
  subscriptions:
    - source: default
      filters: {type: com.example.order}
""",
        environ={"LOCAL_TOKEN": "s3cret"},
    )
    assert spec.name == "orders"
    assert spec.signature is funcyaml.Signature.CLOUDEVENT
    assert "entrypoint" not in spec.model_fields_set  # found by the function/ layout
    assert spec.env == {"GREETING": "hi", "TOKEN": "s3cret"}
    assert spec.deploy.namespace == "shop"
    assert spec.deploy.annotations == {"team": "billing"}
    assert spec.deploy.labels == {"tier": "backend"}
    assert (spec.deploy.scale.min, spec.deploy.scale.max, spec.deploy.scale.metric) == (
        1,
        5,
        "rps",
    )
    assert spec.deploy.concurrency == 4
    assert spec.deploy.subscriptions[0].broker == "default"
    assert spec.deploy.subscriptions[0].filters == {"type": "com.example.order"}
    assert spec.notes == ()


def test_the_http_template_is_the_asgi_signature() -> None:
    assert funcyaml.parse(KNATIVE).signature is funcyaml.Signature.ASGI
    assert funcyaml.parse(KNATIVE + "invoke: http\n").signature is funcyaml.Signature.ASGI


def test_build_only_fields_are_accepted_and_named_in_a_note() -> None:
    spec = funcyaml.parse(
        KNATIVE
        + """\
registry: quay.io/alice
image: quay.io/alice/orders:latest
build:
  builder: pack
  buildpacks: [paketo-buildpacks/python]
deploy:
  image: quay.io/alice/orders@sha256:0123
  namespace: shop
"""
    )
    assert len(spec.notes) == 1
    assert "not applied on Unkai" in spec.notes[0]
    assert "build, registry, image, deploy.image" in spec.notes[0]
    assert spec.deploy.namespace == "shop"


def test_an_unset_local_env_is_an_error_or_left_to_the_instance() -> None:
    text = KNATIVE + "run:\n  envs:\n    - name: TOKEN\n      value: '{{ env:LOCAL_TOKEN }}'\n"
    found = knative_problems(text, environ={})
    assert len(found) == 1
    assert found[0].startswith("line 8: run.envs[0].value: required local environment variable")
    spec = funcyaml.parse(text, environ={}, unset_env="inherit")
    assert spec.env == {}
    # In an instance, the value deployed (already in the environment) stays.
    deployed = {"TOKEN": "from the deployer", "LOCAL_TOKEN": "where the instance runs"}
    assert funcyaml.parse(text, environ=deployed, unset_env="inherit").env == {}
    assert funcyaml.parse(text, environ={"LOCAL_TOKEN": "t"}, unset_env="inherit").env == {
        "TOKEN": "t"
    }


@pytest.mark.parametrize(
    ("added", "says"),
    [
        (
            "run:\n  envs:\n    - {name: PASSWORD, value: '{{ secret:db }}'}\n",
            "line 7: run.envs[0].value: '{{ secret:db }}' names no key: write {{ secret:NAME:KEY",
        ),
        (
            "run:\n  envs:\n    - {value: '{{ env:HOME }}'}\n",
            "line 7: run.envs[0].value: an entry without a name must be {{ secret:NAME }} or",
        ),
        (
            "run:\n  envs:\n    - {name: my-var, value: x}\n",
            "line 7: run.envs[0].name: 'my-var' is not an environment variable name",
        ),
        ("run:\n  envs:\n    - {name: PORT, value: '1'}\n", "reserved environment variable"),
        ("run:\n  volumes:\n    - {secret: certs, path: /certs}\n", "line 6: run.volumes:"),
        ("deployer: raw\n", "line 5: deployer: 'raw': Unkai deploys functions as Knative"),
        ("deploy:\n  healthEndpoints: {liveness: /alive}\n", "line 6: deploy.healthEndpoints.l"),
        ("deploy:\n  bogus: 1\n", "line 6: deploy.bogus: unknown field"),
        ("invoke: event\n", "line 5: invoke:"),
    ],
)
def test_what_cannot_apply_is_refused_with_field_and_line(added: str, says: str) -> None:
    found = knative_problems(KNATIVE + added)
    assert len(found) == 1, found
    assert says in found[0]


def test_funcs_runtime_must_be_python() -> None:
    found = knative_problems(KNATIVE.replace("runtime: python", "runtime: node"))
    assert found == ["line 3: runtime: 'node': Unkai runs Python functions only"]


def test_unkais_checks_of_mapped_fields_point_at_funcs_field() -> None:
    found = knative_problems(KNATIVE.replace("name: orders", "name: 1orders"))
    assert len(found) == 1
    assert found[0].startswith("line 2: name: '1orders' is not a DNS label")
    found = knative_problems(KNATIVE + "deploy:\n  options:\n    scale: {min: 5, max: 2}\n")
    assert found == [
        "line 7: deploy.options.scale: min (5) must not be greater than max (2)",
    ]


def test_created_is_required_as_in_funcs_schema() -> None:
    found = knative_problems(KNATIVE.replace("created: 2026-12-05T09:00:00.000000+00:00\n", ""))
    assert found == ["line 1: created: Field required"]


def test_pyproject_dependencies_are_requirements_too(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "function"\ndependencies = ["httpx", "cloudevents>=2,<3"]\n'
    )
    (tmp_path / "requirements.txt").write_text("pyyaml\n")
    spec = funcyaml.parse(KNATIVE)
    assert spec.requirement_lines(tmp_path) == ["pyyaml", "httpx", "cloudevents>=2,<3"]
    named = funcyaml.parse("name: orders\nrequirements: [requests]\n")
    assert named.requirement_lines(tmp_path) == ["requests"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[project]\ndependencies = "httpx"\n', "project.dependencies: expected a list"),
        ("[project\n", "line 1: (document): invalid TOML"),
        ('[project]\ndynamic = ["dependencies"]\n', "project.dynamic: the dependencies are"),
    ],
)
def test_a_pyproject_that_does_not_say_what_to_install_is_an_error(
    tmp_path: Path, text: str, says: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(SourceError, match=r"pyproject\.toml") as caught:
        funcyaml.parse("name: orders\n").requirement_lines(tmp_path)
    assert str(caught.value.problems[0]).startswith(says)
