"""Gradual rollout, as Knative's route reconciler steps it.

Aspects: the step decision alone (1% first, step size and time from how long that 1%
took, newest older revisions drained first, a newer revision mid-rollout, a changed
share of the target); then through the reconcilers: a Service with
``serving.knative.dev/rollout-duration`` moves its traffic in steps visible in
``status.traffic``, with ``IngressReady=Unknown``/``RolloutInProgress`` until done, and
``config-network``'s ``rollout-duration`` is the default; host templates name URLs.
"""

from typing import Any

from tests.api.manifests import at, service
from tests.controllers.cluster import Cluster, condition
from tests.controllers.readiness import READY
from unkai.api.knative import clusterconfig
from unkai.platform.controllers import rollout
from unkai.platform.controllers.rollout import Rollout, Timing
from unkai.platform.controllers.route import Network


def test_a_new_revision_gets_one_percent_first() -> None:
    steady = Rollout(100, (("a", 100),))
    started = rollout.step(steady, latest="b", percent=100, now=10.0)
    assert started.shares == (("a", 99), ("b", 1))
    assert started.timing == Timing(started=10.0)
    assert not started.done


def test_steps_follow_from_how_long_the_first_percent_took() -> None:
    started = Rollout(100, (("a", 99), ("b", 1)), Timing(started=10.0))
    observed = rollout.observe_ready(started, duration=60, now=12.0)
    # min step 2 s; 58 s left in min(99, 29) = 29 steps of round(99/29) = 3%, 2 s apart.
    assert observed.timing == Timing(started=10.0, step_size=3, step_seconds=2.0, next_step=14.0)
    assert rollout.step(observed, latest="b", percent=100, now=13.9) == observed
    stepped = rollout.step(observed, latest="b", percent=100, now=14.0)
    assert stepped.shares == (("a", 96), ("b", 4))
    assert stepped.timing is not None
    assert stepped.timing.next_step == 16.0


def test_a_rollout_runs_to_the_end_in_about_its_duration() -> None:
    now = 0.0
    current = rollout.step(Rollout(100, (("a", 100),)), latest="b", percent=100, now=now)
    current = rollout.observe_ready(current, duration=30, now=now + 1)
    seen = []
    while not current.done:
        assert current.timing is not None
        now = current.timing.next_step
        current = rollout.step(current, latest="b", percent=100, now=now)
        seen.append(dict(current.shares)["b"])
    assert current.shares == (("b", 100),)
    assert current.timing is None
    # 29 steps planned of round(99/29) = 3%: rounding down makes 33 of them, as in Knative.
    assert seen == sorted(seen)
    assert len(seen) == 33
    assert now == 34.0


def test_a_newer_revision_mid_rollout_takes_from_the_newest_first() -> None:
    midway = Rollout(100, (("a", 70), ("b", 30)), Timing(1.0, 10, 3.0, 9.0))
    third = rollout.step(midway, latest="c", percent=100, now=5.0)
    assert third.shares == (("a", 70), ("b", 29), ("c", 1))
    observed = rollout.observe_ready(third, duration=100, now=6.0)
    assert observed.timing is not None
    stepped = rollout.step(observed, latest="c", percent=100, now=observed.timing.next_step)
    assert stepped.shares[0] == ("a", 70)  # b drains before a
    assert sum(share for _, share in stepped.shares) == 100


def test_a_changed_share_goes_to_the_newest_or_comes_from_the_oldest() -> None:
    midway = Rollout(100, (("a", 60), ("b", 40)), Timing(1.0, 10, 3.0, 50.0))
    assert rollout.step(midway, latest="b", percent=50, now=2.0).shares == (("a", 10), ("b", 40))
    smaller = Rollout(50, (("a", 10), ("b", 40)), Timing(1.0, 10, 3.0, 50.0))
    assert rollout.step(smaller, latest="b", percent=80, now=2.0).shares == (("a", 10), ("b", 70))


def test_nothing_to_roll_from_takes_the_whole_share() -> None:
    assert rollout.step(None, latest="a", percent=100, now=0).shares == (("a", 100),)
    one = Rollout(1, (("a", 1),))
    assert rollout.step(one, latest="b", percent=1, now=0).shares == (("b", 1),)


ANNOTATION = "serving.knative.dev/rollout-duration"


def hello(target: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    manifest = service("hello")
    if annotations:
        manifest["metadata"]["annotations"] = annotations
    return at(manifest, "spec.template.spec.containers[0].env", [{"name": "T", "value": target}])


def shares(cluster: Cluster) -> list[tuple[str, int]]:
    traffic = cluster.get("Service", "hello")["status"]["traffic"]
    return [(entry["revisionName"], entry["percent"]) for entry in traffic]


def deploy_second(cluster: Cluster, annotations: dict[str, str] | None = None) -> None:
    cluster.apply(hello("v1", annotations))
    cluster.readiness.set("hello-00001", READY)
    cluster.settle()
    cluster.apply(hello("v2", annotations))
    cluster.readiness.set("hello-00002", READY)
    cluster.tick()
    cluster.settle()


def test_a_service_rolls_out_in_steps_visible_in_its_status() -> None:
    cluster = Cluster()
    deploy_second(cluster, {ANNOTATION: "20s"})
    assert shares(cluster) == [("hello-00001", 99), ("hello-00002", 1)]
    assert cluster.gateway["hello"].split == (("hello-00001", 99), ("hello-00002", 1))
    route = cluster.get("Route", "hello")
    ingress = condition(route, "IngressReady")
    assert (ingress["status"], ingress["reason"]) == ("Unknown", "RolloutInProgress")
    assert condition(cluster.get("Service", "hello"), "Ready")["status"] == "Unknown"

    seen = [shares(cluster)]
    for _ in range(40):
        cluster.tick()
        cluster.settle()
        if shares(cluster) != seen[-1]:
            seen.append(shares(cluster))
    assert seen[-1] == [("hello-00002", 100)]
    newest = [dict(split).get("hello-00002") for split in seen]
    assert newest == sorted(newest)
    assert len(seen) > 3
    assert condition(cluster.get("Service", "hello"), "Ready")["status"] == "True"


def test_config_network_rollout_duration_is_the_default() -> None:
    config, _ = clusterconfig.read({"config-network": {"rollout-duration": "20"}})
    cluster = Cluster(network=Network(config=config.network))
    deploy_second(cluster)
    assert shares(cluster) == [("hello-00001", 99), ("hello-00002", 1)]


def test_without_a_duration_traffic_moves_at_once() -> None:
    cluster = Cluster()
    deploy_second(cluster)
    assert shares(cluster) == [("hello-00002", 100)]


def test_host_templates_name_the_urls() -> None:
    config, problems = clusterconfig.read(
        {
            "config-network": {
                "domain-template": "{{.Name}}-{{.Namespace}}.{{.Domain}}",
                "tag-template": "{{.Tag}}.{{.Name}}",
            }
        }
    )
    assert problems == []
    cluster = Cluster(network=Network(domain="example.test", port=80, config=config.network))
    manifest = hello("v1")
    manifest["spec"]["traffic"] = [{"tag": "blue", "latestRevision": True, "percent": 100}]
    cluster.apply(manifest)
    cluster.readiness.set("hello-00001", READY)
    cluster.settle()
    status = cluster.get("Service", "hello")["status"]
    assert status["url"] == "http://hello-default.example.test"
    assert status["traffic"][0]["url"] == "http://blue.hello-default.example.test"
    assert set(cluster.gateway["hello"].tags) == {"blue.hello-default.example.test"}
