"""The ``knative-serving`` ConfigMaps: what admission refuses (with Knative's messages)
and what the platform reads from what it accepts."""

from typing import Any

import pytest

from tests.api.manifests import admit, service
from unkai.api.knative import KINDS, clusterconfig


def config_map(name: str, data: dict[str, str], namespace: str = "knative-serving") -> Any:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


def refused(name: str, data: dict[str, str]) -> list[tuple[str, str]]:
    found = clusterconfig.validate(config_map(name, data), None)
    return [(problem.field, problem.message) for problem in found]


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("config-network", {"rollout-duration": "-5"},
         [("data.rollout-duration", "rollout-duration must be a positive integer, but was -5")]),
        ("config-network", {"rollout-duration": "5m"},
         [("data.rollout-duration",
           'failed to parse "rollout-duration": strconv.ParseInt: parsing "5m": invalid syntax')]),
        ("config-network", {"domain-template": "{{.Name}}.{{.Namespace}}.{{.Domain}}/path"},
         [("data.domain-template",
           'failed to parse "domain-template": domain template has url path: /path')]),
        ("config-network", {"domain-template": "{{.Name}}.{{.Nope}}"},
         [("data.domain-template",
           'failed to parse "domain-template": template: domain-template: executing'
           ' "domain-template" at <.Nope>: can\'t evaluate field Nope'
           " (the fields are .Name, .Namespace, .Domain)")]),
        ("config-network", {"external-domain-tls": "Enabled"},
         [("data.external-domain-tls",
           '"Enabled" is not supported by unkai up: the gateway serves plain HTTP')]),
        ("config-autoscaler", {"max-scale-up-rate": "1"},
         [("data.max-scale-up-rate", "max-scale-up-rate = 1, must be greater than 1.0")]),
        ("config-autoscaler", {"stable-window": "5s"},
         [("data.stable-window", "stable-window = 5s, must be in [6s; 1h0m0s] range")]),
        ("config-autoscaler", {"stable-window": "ten"},
         [("data.stable-window",
           'failed to parse "stable-window": time: invalid duration "ten"')]),
        ("config-autoscaler", {"enable-scale-to-zero": "maybe"},
         [("data.enable-scale-to-zero", 'failed to parse "enable-scale-to-zero":'
           ' strconv.ParseBool: parsing "maybe": invalid syntax')]),
        ("config-autoscaler", {"max-scale": "5", "max-scale-limit": "3"},
         [("data.max-scale", "max-scale = 5, must be in [1, max-scale-limit(3)] range")]),
        ("config-autoscaler", {"pod-autoscaler-class": "hpa.autoscaling.knative.dev"},
         [("data.pod-autoscaler-class", '"hpa.autoscaling.knative.dev" is not supported by'
           " unkai up: unkai up scales with the KPA only (no HPA)")]),
        ("config-features", {"kubernetes.podspec-affinity": "enabled"},
         [("data.kubernetes.podspec-affinity", '"enabled" is not supported by unkai up:'
           " unkai up runs with kubernetes.podspec-affinity disabled")]),
        ("config-features", {"multi-container": "sometimes"},
         [("data.multi-container",
           'failed to parse "multi-container": unsupported value "sometimes"')]),
        ("config-gc", {"min-non-active-revisions": "30", "max-non-active-revisions": "5"},
         [("data.min-non-active-revisions",
           "min-non-active-revisions(30) must be <= max-non-active-revisions(5)")]),
        ("config-gc", {"min-non-active-revisions": "-1"},
         [("data.min-non-active-revisions", "min-non-active-revisions must be non-negative,"
           " was: -1")]),
        ("config-gc", {"max-non-active-revisions": "-3", "retain-since-create-time": "-1h",
                       "retain-since-last-active-time": "soon"},
         [("data.retain-since-create-time",
           "failed to parse retain-since-create-time: must be non-negative"),
          ("data.retain-since-last-active-time", "failed to parse"
           ' retain-since-last-active-time: time: invalid duration "soon"'),
          ("data.max-non-active-revisions", "failed to parse max-non-active-revisions:"
           ' strconv.ParseUint: parsing "-3": invalid syntax')]),
        ("config-deployment", {"digest-resolution-timeout": "0s"},
         [("data.digest-resolution-timeout",
           "digest-resolution-timeout cannot be a non-positive duration, was 0s")]),
        ("config-defaults", {"revision-timeout-seconds": "900"},
         [("data.max-revision-timeout-seconds", "revision-timeout-seconds (900) cannot be"
           " greater than max-revision-timeout-seconds (600)")]),
        ("config-defaults",
         {"container-concurrency": "50", "container-concurrency-max-limit": "10"},
         [("data.container-concurrency", "expected 0 <= 50 <= 10")]),
        ("config-defaults", {"revision-cpu-limit": "1"},
         [("data.revision-cpu-limit", '"1" is not supported by unkai up: unkai up\'s admission'
           " applies Knative's default here and cannot change it yet")]),
        ("config-defaults", {"revision-timeout-seconds": "0"},
         [("data.revision-timeout-seconds", "expected 1 <= 0 <= 2147483647")]),
    ],
)  # fmt: skip
def test_admission_refuses_what_knative_refuses_or_unkai_cannot_honour(
    name: str, data: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    assert refused(name, data) == expected


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("config-network", {"rollout-duration": "120", "ingress-class": "kourier"}),
        ("config-network", {"domain-template": '{{index .Annotations "team"}}.{{.Domain}}'}),
        ("config-autoscaler", {"stable-window": "6s",
                               "container-concurrency-target-percentage": "0.5"}),
        ("config-features", {"kubernetes.podspec-fieldref": "Enabled", "_example": "anything"}),
        ("config-gc", {"max-non-active-revisions": "1000", "retain-since-create-time": "48h"}),
        ("config-gc", {"max-non-active-revisions": "disabled", "min-non-active-revisions": "0",
                       "retain-since-create-time": "Disabled",
                       "retain-since-last-active-time": "1m30s"}),
        ("config-defaults", {"revision-timeout-seconds": "900",
                             "max-revision-timeout-seconds": "1200",
                             "container-name-template": "user-container"}),
    ],
)  # fmt: skip
def test_admission_takes_values_knative_takes_and_unkai_honours(
    name: str, data: dict[str, str]
) -> None:
    assert refused(name, data) == []


def test_other_config_maps_are_not_knatives_settings() -> None:
    elsewhere = config_map("config-network", {"rollout-duration": "-5"}, namespace="default")
    assert clusterconfig.validate(elsewhere, None) == []
    assert refused("my-settings", {"rollout-duration": "-5"}) == []


def test_read_gives_templates_rollout_and_autoscaler_overrides() -> None:
    config, problems = clusterconfig.read(
        {
            "config-network": {
                "domain-template": "{{.Name}}-{{.Namespace}}.{{.Domain}}",
                "tag-template": "{{.Name}}--{{.Tag}}",
                "rolloutDuration": "30",
            },
            "config-autoscaler": {"scale-to-zero-grace-period": "45s", "min-scale": "1"},
        }
    )
    assert problems == []
    values = {"Name": "hello", "Namespace": "team", "Domain": "example.com"}
    assert config.network.domain_template.render(values) == "hello-team.example.com"
    assert config.network.tag_template.render({"Name": "hello", "Tag": "v2"}) == "hello--v2"
    assert config.network.rollout_duration == 30
    assert config.autoscaler == {"scale_to_zero_grace_period": 45.0, "min_scale": 1}


def test_read_takes_a_stored_bad_map_as_absent_and_says_why() -> None:
    config, problems = clusterconfig.read({"config-network": {"rollout-duration": "-1"}})
    assert config.network.rollout_duration == 0
    assert [(p.field, p.message) for p in problems] == [
        (
            "config-network.data.rollout-duration",
            "rollout-duration must be a positive integer, but was -1",
        )
    ]


def test_domain_template_reads_the_routes_annotations_and_labels() -> None:
    config, _ = clusterconfig.read(
        {"config-network": {"domain-template": '{{index .Labels "app"}}.{{.Name}}.{{.Domain}}'}}
    )
    host = config.network.domain_template.render(
        {"Name": "hello", "Namespace": "default", "Domain": "localhost"}, labels={"app": "shop"}
    )
    assert host == "shop.hello.localhost"


def test_unsupported_template_actions_are_refused_by_name() -> None:
    [(field, message)] = refused("config-network", {"tag-template": "{{if .Tag}}x{{end}}"})
    assert field == "data.tag-template"
    assert "{{if .Tag}} is not supported by unkai up" in message


def test_config_defaults_reach_revision_defaulting_and_bounds() -> None:
    settings, problems = clusterconfig.defaults(
        {"revision-timeout-seconds": "900", "max-revision-timeout-seconds": "1200",
         "container-concurrency": "7"}
    )  # fmt: skip
    assert problems == []
    kind = KINDS[("serving.knative.dev", "v1", "services")]
    default = clusterconfig.admitting(kind.default, lambda: settings)
    spec = default(service())["spec"]["template"]["spec"]
    assert (spec["timeoutSeconds"], spec["containerConcurrency"]) == (900, 7)
    long = service()
    long["spec"]["template"]["spec"]["timeoutSeconds"] = 1000
    validate = clusterconfig.admitting(kind.validate, lambda: settings)
    assert validate(default(long), None) == []
    assert admit(long) == [  # outside admission: Knative's defaults
        ("spec.template.spec.timeoutSeconds", "expected 1 <= 1000 <= 600")
    ]


def test_tag_header_routing_is_the_switchable_feature() -> None:
    config, problems = clusterconfig.read(
        {"config-features": {"tag-header-based-routing": "Enabled", "multi-container": "disabled"}}
    )
    assert problems == []
    assert config.features.tag_header_routing is True
    assert clusterconfig.read({})[0].features.tag_header_routing is False


def test_config_gc_is_read_with_disabled_as_none() -> None:
    data = {"retain-since-create-time": "disabled", "retain-since-last-active-time": "1m30s",
            "min-non-active-revisions": "2", "max-non-active-revisions": "disabled"}  # fmt: skip
    config, problems = clusterconfig.read({"config-gc": data})
    assert problems == []
    assert config.gc == clusterconfig.GcConfig(None, 90.0, 2, None)
    assert clusterconfig.read({})[0].gc == clusterconfig.GcConfig(
        48 * 3600.0, 15 * 3600.0, 20, 1000
    )


def test_config_deployment_names_the_registries_whose_tags_stay_tags() -> None:
    data = {"registries-skipping-tag-resolving": "registry.internal, dev.local",
            "digest-resolution-timeout": "2s", "progress-deadline": "600s"}  # fmt: skip
    config, problems = clusterconfig.read({"config-deployment": data})
    assert problems == []
    assert config.deployment == clusterconfig.DeploymentConfig(
        frozenset({"registry.internal", "dev.local"}), 2.0
    )
    default = clusterconfig.read({})[0].deployment.registries_skipping_tag_resolving
    assert default == {"kind.local", "ko.local", "dev.local"}
