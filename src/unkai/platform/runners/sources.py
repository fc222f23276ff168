"""ConfigMaps and Secrets as a kubelet reads them for a container: ``env``, ``envFrom``.

:class:`Sources` is the data plane's copy of every ConfigMap's and Secret's data, kept
current by a watch (``embedded``), so resolving a revision's environment is a pure
function of the container, the revision and that copy. The rules are the kubelet's
(``pkg/kubelet/kubelet_pods.go``, ``makeEnvironmentVariables``): ``envFrom`` first, in
order, each key with its ``prefix``; then ``env``, whose entries win; ``$(NAME)`` in a
``value`` expands to a variable defined before it (``$$`` is a literal ``$``). A missing
source that is not ``optional`` stops the container with the kubelet's reason
``CreateContainerConfigError`` and its message (``secret "db" not found``,
``couldn't find key user in ConfigMap default/db``); the data plane tries again when
the source appears.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from unkai.platform.contracts import Reason
from unkai.platform.runners.base import RunnerError

LOOPBACK: Final = "127.0.0.1"

Kind = Literal["ConfigMap", "Secret"]
SourceKey = tuple[Kind, str, str]
"""(kind, namespace, name)"""

_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
_REFERENCE = re.compile(r"\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)")
_FIELD_SUBSCRIPT = re.compile(r"metadata\.(labels|annotations)\['(.+)'\]")


@dataclass
class Sources:
    """Every ConfigMap's and Secret's data (Secret values decoded), by (kind, ns, name)."""

    data: dict[SourceKey, dict[str, bytes]] = field(default_factory=dict)

    def put(self, kind: Kind, obj: Mapping[str, Any]) -> SourceKey:
        """Record a ConfigMap or Secret as written (``binaryData`` and ``data`` merged)."""
        key = source_key(kind, obj)
        values: dict[str, bytes] = {}
        if key[0] == "Secret":
            for name, value in (obj.get("data") or {}).items():
                values[name] = base64.b64decode(str(value))
        else:
            for name, value in (obj.get("binaryData") or {}).items():
                values[name] = base64.b64decode(str(value))
            for name, value in (obj.get("data") or {}).items():
                values[name] = str(value).encode()
        self.data[key] = values
        return key

    def drop(self, kind: Kind, obj: Mapping[str, Any]) -> SourceKey:
        key = source_key(kind, obj)
        self.data.pop(key, None)
        return key

    def keep_only(self, kind: Kind, keys: set[SourceKey]) -> list[SourceKey]:
        """Drop the ``kind`` sources not in ``keys`` (a fresh list); those dropped."""
        gone = [key for key in self.data if key[0] == kind and key not in keys]
        for key in gone:
            del self.data[key]
        return gone

    def get(self, kind: Kind, namespace: str, name: str) -> dict[str, bytes] | None:
        return self.data.get((kind, namespace, name))


def source_key(kind: Kind, obj: Mapping[str, Any]) -> SourceKey:
    metadata = obj.get("metadata") or {}
    return kind, str(metadata.get("namespace") or "default"), str(metadata.get("name"))


def referenced(revision: Mapping[str, Any]) -> set[SourceKey]:
    """The ConfigMaps and Secrets a revision's container or volumes name."""
    namespace = str(revision.get("metadata", {}).get("namespace") or "default")
    spec = revision.get("spec") or {}
    container = (spec.get("containers") or [{}])[0]
    found: set[SourceKey] = set()
    for item in container.get("envFrom") or []:
        found |= _refs(item, namespace, "configMapRef", "secretRef")
    for item in container.get("env") or []:
        found |= _refs(item.get("valueFrom") or {}, namespace, "configMapKeyRef", "secretKeyRef")
    for volume in spec.get("volumes") or []:
        found |= _refs(volume, namespace, "configMap", "secret")
        for projected in (volume.get("projected") or {}).get("sources") or []:
            found |= _refs(projected, namespace, "configMap", "secret")
    return found


def _refs(holder: Mapping[str, Any], namespace: str, cm: str, secret: str) -> set[SourceKey]:
    found: set[SourceKey] = set()
    if isinstance(ref := holder.get(cm), Mapping):
        found.add(("ConfigMap", namespace, str(ref.get("name", ""))))
    if isinstance(ref := holder.get(secret), Mapping):
        name = ref.get("secretName", ref.get("name", ""))
        found.add(("Secret", namespace, str(name)))
    return found


def environment(revision: Mapping[str, Any], sources: Sources) -> dict[str, str]:
    """The container's ``envFrom`` and ``env`` resolved; :class:`RunnerError` with reason
    ``CreateContainerConfigError`` when a required source or key is missing."""
    metadata = revision.get("metadata") or {}
    namespace = str(metadata.get("namespace") or "default")
    spec = revision.get("spec") or {}
    container = (spec.get("containers") or [{}])[0]
    env: dict[str, str] = {}
    for item in container.get("envFrom") or []:
        prefix = str(item.get("prefix") or "")
        for kind, ref_field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            ref = item.get(ref_field)
            if not isinstance(ref, Mapping):
                continue
            data = _source(sources, kind, namespace, ref)  # type: ignore[arg-type]
            for key, raw in sorted((data or {}).items()):
                if _ENV_NAME.fullmatch(prefix + key):  # the kubelet skips invalid names
                    env[prefix + key] = raw.decode(errors="replace")
    for item in container.get("env") or []:
        name = str(item["name"])
        if "valueFrom" in item:
            found = _value_from(item["valueFrom"], namespace, revision, sources)
            if found is not None:
                env[name] = found
        else:
            env[name] = expand(str(item.get("value", "")), env)
    return env


def expand(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(NAME)`` expansion: known names are replaced, unknown ones kept as
    written, ``$$`` becomes ``$``."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _REFERENCE.sub(replace, value)


def _source(
    sources: Sources, kind: Kind, namespace: str, ref: Mapping[str, Any]
) -> dict[str, bytes] | None:
    """A referenced source's data; ``None`` when it is missing and optional."""
    name = str(ref.get("name") or ref.get("secretName") or "")
    data = sources.get(kind, namespace, name)
    if data is None and not ref.get("optional"):
        raise _config_error(f'{kind.lower()} "{name}" not found')
    return data


def _value_from(
    value_from: Mapping[str, Any],
    namespace: str,
    revision: Mapping[str, Any],
    sources: Sources,
) -> str | None:
    for kind, ref_field in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
        ref = value_from.get(ref_field)
        if not isinstance(ref, Mapping):
            continue
        data = _source(sources, kind, namespace, ref)  # type: ignore[arg-type]
        if data is None:
            return None
        key = str(ref.get("key", ""))
        if key not in data:
            if ref.get("optional"):
                return None
            name = ref.get("name")
            raise _config_error(f"couldn't find key {key} in {kind} {namespace}/{name}")
        return data[key].decode(errors="replace")
    if isinstance(ref := value_from.get("fieldRef"), Mapping):
        return field_value(str(ref.get("fieldPath", "")), revision)
    raise _config_error(f"env valueFrom {sorted(value_from)} is not supported")


def field_value(path: str, revision: Mapping[str, Any]) -> str:
    """A downward-API ``fieldRef`` as the instance sees it. Instances of a revision share
    one environment, so the pod's name and uid are the revision's; the node and the
    pod's IPs are this machine's loopback."""
    metadata = revision.get("metadata") or {}
    spec = revision.get("spec") or {}
    simple = {
        "metadata.name": metadata.get("name", ""),
        "metadata.namespace": metadata.get("namespace", "default"),
        "metadata.uid": metadata.get("uid", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName") or "default",
        "spec.nodeName": "localhost",
        "status.hostIP": LOOPBACK,
        "status.hostIPs": LOOPBACK,
        "status.podIP": LOOPBACK,
        "status.podIPs": LOOPBACK,
    }
    if path in simple:
        return str(simple[path])
    if match := _FIELD_SUBSCRIPT.fullmatch(path):
        return str((metadata.get(match.group(1)) or {}).get(match.group(2), ""))
    if path in ("metadata.labels", "metadata.annotations"):
        return _lines((metadata.get(path.split(".")[1]) or {}).items())
    raise _config_error(f'unsupported fieldPath "{path}" in env valueFrom.fieldRef')


def _lines(items: Iterable[tuple[str, Any]]) -> str:
    """The downward API's form of a map: ``key="value"`` lines, sorted."""
    return "\n".join(f'{key}="{value}"' for key, value in sorted(items))


def _config_error(message: str) -> RunnerError:
    return RunnerError(Reason.CREATE_CONTAINER_CONFIG_ERROR, message)
