"""Env values from Secrets and ConfigMaps, written in Knative func's template syntax in
either func.yaml format, become ``valueFrom`` and ``envFrom`` in the Service; malformed
ones are refused at their line with the forms allowed; and where no platform sets them
(``unkai run``) the runtime says which variable to set instead of starting without it.
"""

from typing import Any

import pytest

from unkai.api import funcyaml
from unkai.api.yamlsource import SourceError
from unkai.kube.manifests import make_service
from unkai.runtime.environment import EnvReferenceError, environment

KNATIVE = """\
specVersion: 0.36.0
name: orders
runtime: python
created: 2026-12-05T09:00:00.000000+00:00
run:
  envs:
    - {name: MODE, value: fast}
    - {name: USER_NAME, value: '{{ env:DEPLOYER }}'}
    - {name: PASSWORD, value: '{{ secret:db:password }}'}
    - {name: LEVEL, value: '{{configMap:settings:log.level}}'}
    - {value: '{{ secret:api-keys }}'}
    - {value: '{{ configMap: shared }}'}
"""
UNKAI = """\
name: orders
env:
  MODE: fast
  USER_NAME: '{{ env:DEPLOYER }}'
  PASSWORD: '{{ secret:db:password }}'
  LEVEL: '{{configMap:settings:log.level}}'
envFrom:
  - secret: api-keys
  - configMap: shared
"""
CONTAINER = {
    "env": [
        {"name": "MODE", "value": "fast"},
        {"name": "USER_NAME", "value": "ada"},
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        {
            "name": "LEVEL",
            "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "log.level"}},
        },
    ],
    "envFrom": [{"secretRef": {"name": "api-keys"}}, {"configMapRef": {"name": "shared"}}],
}


def container(text: str) -> dict[str, Any]:
    spec = funcyaml.parse(text, environ={"DEPLOYER": "ada"})
    service = make_service(spec, image="example.com/orders:1", namespace="default")
    found: dict[str, Any] = service["spec"]["template"]["spec"]["containers"][0]
    return found


@pytest.mark.parametrize("text", [KNATIVE, UNKAI], ids=["knative-format", "unkai-format"])
def test_references_become_value_from_and_env_from(text: str) -> None:
    found = container(text)
    assert {key: found[key] for key in ("env", "envFrom")} == CONTAINER


def test_a_function_with_no_whole_sources_has_no_env_from() -> None:
    assert "envFrom" not in container("name: orders\nenv: {MODE: fast}\n")


def problems(text: str) -> list[str]:
    with pytest.raises(SourceError) as caught:
        funcyaml.parse(text, environ={})
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("{{ vault:db:password }}", "unsupported template '{{ vault:db:password }}': use {{ env"),
        ("{{ secret:db }}", "'{{ secret:db }}' names no key: write {{ secret:NAME:KEY }}"),
        ("{{ secret:db:a:b }}", "names no key"),
        ("{{ secret:DB:password }}", "'DB' in '{{ secret:DB:password }}' is not a Secret or"),
        ("{{ configMap:cfg:a/b }}", "'a/b' in '{{ configMap:cfg:a/b }}' is not a key"),
        ("{{ secret::password }}", "has an empty part"),
        ("{{ env:NOT SET }}", "is not {{ env:NAME }}"),
        ("{{ env:UNSET_HERE }}", "required local environment variable 'UNSET_HERE' is not set"),
    ],
)
def test_malformed_templates_are_refused_at_their_line(value: str, says: str) -> None:
    knative = problems(
        KNATIVE.split("    - {name: MODE")[0] + f"    - {{name: X, value: '{value}'}}\n"
    )
    assert len(knative) == 1
    assert knative[0].startswith("line 7: run.envs[0].value: ")
    assert says in knative[0]
    unkai = problems(f"name: orders\nenv:\n  X: '{value}'\n")
    assert len(unkai) == 1
    assert unkai[0].startswith("line 3: env.X: ")
    assert says in unkai[0]


def test_an_env_from_entry_names_exactly_one_source() -> None:
    found = problems("name: orders\nenvFrom:\n  - {secret: a, configMap: b}\n  - {}\n")
    assert found == [
        "line 3: envFrom[0]: name exactly one of secret or configMap",
        "line 4: envFrom[1]: name exactly one of secret or configMap",
    ]
    assert problems("name: orders\nenvFrom:\n  - secret: Bad_Name\n")[0].startswith(
        "line 3: envFrom[0].secret: "
    )


def test_the_runtime_keeps_what_the_platform_set_for_a_reference() -> None:
    spec = funcyaml.parse(UNKAI, environ={"DEPLOYER": "ada"})
    set_by_platform = {"PASSWORD": "s3cret", "LEVEL": "debug"}
    env = environment(spec, set_by_platform)
    picked = {name: env[name] for name in ("MODE", "USER_NAME", "PASSWORD", "LEVEL")}
    assert picked == {"MODE": "fast", "USER_NAME": "ada", "PASSWORD": "s3cret", "LEVEL": "debug"}


def test_without_a_platform_the_runtime_names_the_variables_to_set() -> None:
    spec = funcyaml.parse(UNKAI, environ={"DEPLOYER": "ada"})
    with pytest.raises(EnvReferenceError) as caught:
        environment(spec, {"LEVEL": "debug"})
    assert str(caught.value).startswith(
        "func.yaml reads PASSWORD ({{ secret:db:password }}) from the platform's Secrets and"
        " ConfigMaps, and nothing set it here: set it in your environment"
    )
