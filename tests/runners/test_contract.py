"""The revision's runtime contract as pure decisions and files: env from ConfigMaps and
Secrets, volumes written like the kubelet's atomic writer, probe verdicts.

Aspects: ``envFrom`` with ``prefix`` then ``env`` winning, ``$(VAR)`` expansion, the
kubelet's ``CreateContainerConfigError`` messages for a missing source or key and
``optional`` ones skipped, ``fieldRef``; volume files with ``items``, ``mode`` and
``defaultMode``, a rewrite that swaps the whole set and drops removed keys, ``emptyDir``
left alone; a probe passes after ``successThreshold`` passes and fails after
``failureThreshold`` failures in a row, on the kubelet's schedule.
"""

import base64
import os
from pathlib import Path
from typing import Any

import pytest

from unkai.platform.runners import RunnerError, volumes
from unkai.platform.runners.probing import ProbeState, next_due, parse
from unkai.platform.runners.sources import Sources, environment, referenced


def known() -> Sources:
    sources = Sources()
    data = {"MODE": "fast", "bad name": "x", "greeting": "hi"}
    sources.put("ConfigMap", {"metadata": {"name": "app", "namespace": "team"}, "data": data})
    secret = {"user": base64.b64encode(b"ada").decode(), "pass": base64.b64encode(b"s3").decode()}
    sources.put("Secret", {"metadata": {"name": "db", "namespace": "team"}, "data": secret})
    return sources


def revision(container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "hello-00001", "namespace": "team", "uid": "u-1",
                     "labels": {"app": "hello"}},
        "spec": {"containers": [{"image": "x", **container}], **spec},
    }  # fmt: skip


def test_env_from_then_env_wins_with_expansion() -> None:
    container = {
        "envFrom": [{"configMapRef": {"name": "app"}, "prefix": "APP_"},
                    {"secretRef": {"name": "db"}}],
        "env": [
            {"name": "user", "value": "overridden"},
            {"name": "GREETING", "value": "$(APP_greeting), $(user)! $$(kept) $(UNKNOWN)"},
            {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pass"}}},
            {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        ],
    }  # fmt: skip
    env = environment(revision(container), known())
    assert env == {
        "APP_MODE": "fast",
        "APP_greeting": "hi",  # "APP_bad name" is no valid name: the kubelet skips it
        "pass": "s3",
        "user": "overridden",
        "GREETING": "hi, overridden! $(kept) $(UNKNOWN)",
        "PASS": "s3",
        "NS": "team",
        "APP": "hello",
    }


@pytest.mark.parametrize(
    ("container", "message"),
    [
        ({"envFrom": [{"secretRef": {"name": "nope"}}]}, 'secret "nope" not found'),
        ({"env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k"}}}]},
         'configmap "nope" not found'),
        ({"env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "k"}}}]},
         "couldn't find key k in ConfigMap team/app"),
        ({"env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.hostname"}}}]},
         'unsupported fieldPath "spec.hostname" in env valueFrom.fieldRef'),
    ],
)  # fmt: skip
def test_missing_sources_are_create_container_config_errors(
    container: dict[str, Any], message: str
) -> None:
    with pytest.raises(RunnerError) as raised:
        environment(revision(container), known())
    assert (raised.value.reason, raised.value.message) == ("CreateContainerConfigError", message)


def test_optional_sources_may_be_missing() -> None:
    container = {
        "envFrom": [{"secretRef": {"name": "nope", "optional": True}}],
        "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "k",
                                                                 "optional": True}}}],
    }  # fmt: skip
    assert environment(revision(container), known()) == {}


def test_referenced_names_env_and_volume_sources() -> None:
    container = {"envFrom": [{"configMapRef": {"name": "app"}}]}
    volumes_ = [{"name": "v", "projected": {"sources": [{"secret": {"name": "db"}}]}}]
    assert referenced(revision(container, volumes=volumes_)) == {
        ("ConfigMap", "team", "app"),
        ("Secret", "team", "db"),
    }


def listing(directory: Path) -> dict[str, tuple[str, int]]:
    """What a reader of the mount sees: files through the top-level names."""
    found = {}
    for folder, dirs, names in os.walk(directory, followlinks=True):
        dirs[:] = [name for name in dirs if not name.startswith("..")]
        for name in names:
            path = Path(folder, name)
            found[str(path.relative_to(directory))] = (
                path.read_text(),
                path.stat().st_mode & 0o777,
            )
    return found


def test_volumes_are_written_with_items_and_modes(tmp_path: Path) -> None:
    spec_volumes = [
        {"name": "conf", "configMap": {"name": "app", "defaultMode": 0o600, "items": [
            {"key": "MODE", "path": "nested/mode"},
            {"key": "greeting", "path": "hi", "mode": 0o444}]}},
        {"name": "both", "projected": {"defaultMode": 0o640, "sources": [
            {"configMap": {"name": "app", "items": [{"key": "MODE", "path": "mode"}]}},
            {"secret": {"name": "db"}}]}},
        {"name": "scratch", "emptyDir": {}},
    ]  # fmt: skip
    found = volumes.files(revision({}, volumes=spec_volumes), known())
    for name, content in found.items():
        volumes.write(tmp_path / name, content)
    assert listing(tmp_path / "conf") == {"nested/mode": ("fast", 0o600), "hi": ("hi", 0o444)}
    assert listing(tmp_path / "both") == {
        "mode": ("fast", 0o640), "user": ("ada", 0o640), "pass": ("s3", 0o640),
    }  # fmt: skip
    assert (tmp_path / "scratch").is_dir()
    assert os.access(tmp_path / "scratch", os.W_OK)


def test_a_rewrite_swaps_the_whole_set(tmp_path: Path) -> None:
    sources = known()
    spec = revision({}, volumes=[{"name": "conf", "configMap": {"name": "app"}}])
    directory = tmp_path / "conf"
    assert volumes.write(directory, volumes.files(spec, sources)["conf"])
    assert not volumes.write(directory, volumes.files(spec, sources)["conf"])  # unchanged
    sources.put("ConfigMap", {"metadata": {"name": "app", "namespace": "team"},
                              "data": {"MODE": "slow"}})  # fmt: skip
    assert volumes.write(directory, volumes.files(spec, sources)["conf"])
    assert listing(directory) == {"MODE": ("slow", 0o644)}
    assert [p.name for p in directory.iterdir() if p.name.startswith("..") and p.is_dir()
            and not p.is_symlink()] == [os.readlink(directory / "..data")]  # fmt: skip


def test_a_missing_volume_source_is_a_failed_mount() -> None:
    spec = revision({}, volumes=[{"name": "conf", "secret": {"secretName": "nope"}}])
    with pytest.raises(RunnerError) as raised:
        volumes.files(spec, known())
    assert (raised.value.reason, raised.value.message) == ("FailedMount", 'secret "nope" not found')
    optional = revision({}, volumes=[{"name": "c", "configMap": {"name": "x", "optional": True}}])
    assert volumes.files(optional, known()) == {"c": {}}


def test_probe_verdicts_follow_the_thresholds() -> None:
    probe = parse({"httpGet": {"path": "/h"}, "periodSeconds": 2, "initialDelaySeconds": 5,
                   "successThreshold": 2, "failureThreshold": 3}, readiness=True)  # fmt: skip
    assert probe is not None
    assert not probe.aggressive
    state = ProbeState.readiness()
    assert next_due(probe, state, started=100.0) == 105.0
    state = state.after(probe, True, now=105.0)
    assert not state.passing  # one pass of two
    assert next_due(probe, state, started=100.0) == 107.0
    state = state.after(probe, True, now=107.0)
    assert state.passing
    for moment in (109.0, 111.0):
        state = state.after(probe, False, now=moment)
        assert state.passing  # fewer failures in a row than the threshold
    state = state.after(probe, True, now=113.0).after(probe, False, now=115.0)
    assert state.passing  # a pass in between starts the count again
    state = state.after(probe, False, now=117.0).after(probe, False, now=119.0)
    assert not state.passing


def test_period_zero_is_aggressive_for_readiness_only() -> None:
    readiness = parse({"tcpSocket": {}}, readiness=True)
    liveness = parse({"tcpSocket": {}}, readiness=False)
    assert readiness is not None
    assert liveness is not None
    assert (readiness.aggressive, readiness.period) == (True, 1.0)
    assert (liveness.aggressive, liveness.period, liveness.failure_threshold) == (False, 10.0, 3)
    assert ProbeState.liveness().passing


@pytest.mark.parametrize(
    ("quantity", "found"),
    [("500", 500), ("64Mi", 64 * 2**20), ("1G", 10**9), ("1.5Ki", 1536), ("0.5k", 500)],
)
def test_size_limits_are_kubernetes_quantities(quantity: str, found: int) -> None:
    assert volumes.quantity_bytes(quantity) == found


def test_a_size_limit_that_is_no_quantity_is_a_failed_mount() -> None:
    with pytest.raises(RunnerError) as raised:
        volumes.quantity_bytes("lots")
    assert raised.value.message == 'sizeLimit "lots" is not a quantity of bytes'
