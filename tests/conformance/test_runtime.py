"""Knative's runtime conformance tests (``test/conformance/runtime``), by name, on a real
``unkai up`` with the process runner, through the gateway over real HTTP.

Each test is named after the Knative test whose intent it ports. Where the process
runner cannot honour a field (``command``/``args``, an ``h2c`` port), the test checks
that the revision says so in its status instead of running as if it had; the summary
per Knative test is in docs/knative-compat.md.
"""

import os
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.conformance.conftest import Conformance, until
from unkai.kube import kinds
from unkai.platform.runners.sandbox import Sandbox

pytestmark = pytest.mark.slow
MIN_SCALE_1 = {"autoscaling.knative.dev/min-scale": "1"}


def failed_with(live: Conformance, name: str, reason: str) -> dict[str, Any]:
    """The Revision ``{name}-00001``'s Ready condition once it is False with ``reason``."""
    return live.condition(
        f"{name}-00001", kinds.REVISION, "Ready",
        lambda c: c["status"] == "False" and c.get("reason") == reason,
    )  # fmt: skip


def test_should_env_vars(live: Conformance) -> None:
    live.service_with("should-env")
    live.ready("should-env")
    env = live.view("should-env")["env"]
    assert (env["K_SERVICE"], env["K_CONFIGURATION"], env["K_REVISION"]) == (
        "should-env", "should-env", "should-env-00001",
    )  # fmt: skip


def test_must_env_vars(live: Conformance) -> None:
    """Knative: ``PORT`` is the containerPort. A sandboxed instance (the default) gets
    exactly that; the gateway reaches it over a Unix socket in the sandbox, so no
    port on the machine is taken."""
    live.service_with("must-env", {"ports": [{"containerPort": 8801}]})
    live.ready("must-env")
    env = live.view("must-env")["env"]
    assert (env["PORT"], env["K_REVISION"]) == ("8801", "must-env-00001")


def test_secrets_via_env(live: Conformance) -> None:
    live.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "conf-secret"},
                "stringData": {"SECRET_KEY": "s3cr3t", "OTHER": "x"}})  # fmt: skip
    live.service_with("secrets-env", {
        "env": [{"name": "FROM_KEY",
                 "valueFrom": {"secretKeyRef": {"name": "conf-secret", "key": "SECRET_KEY"}}}],
        "envFrom": [{"secretRef": {"name": "conf-secret"}, "prefix": "ALL_"}],
    })  # fmt: skip
    live.ready("secrets-env")
    env = live.view("secrets-env")["env"]
    assert (env["FROM_KEY"], env["ALL_SECRET_KEY"], env["ALL_OTHER"]) == ("s3cr3t", "s3cr3t", "x")


def test_configs_via_env(live: Conformance) -> None:
    live.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf-map"},
                "data": {"MODE": "fast"}})  # fmt: skip
    live.service_with("configs-env", {
        "env": [{"name": "FROM_KEY",
                 "valueFrom": {"configMapKeyRef": {"name": "conf-map", "key": "MODE"}}},
                {"name": "POD_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
        "envFrom": [{"configMapRef": {"name": "conf-map"}}],
    })  # fmt: skip
    live.ready("configs-env")
    env = live.view("configs-env")["env"]
    assert (env["FROM_KEY"], env["MODE"], env["POD_NS"]) == ("fast", "fast", "default")


def test_configs_via_env_missing_source_waits_for_it(live: Conformance) -> None:
    """As a kubelet: CreateContainerConfigError until the ConfigMap exists, then it runs."""
    live.service_with("late-config", {"envFrom": [{"configMapRef": {"name": "late"}}]})
    ready = failed_with(live, "late-config", "CreateContainerConfigError")
    assert ready["message"] == 'configmap "late" not found'
    live.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"},
                "data": {"ARRIVED": "yes"}})  # fmt: skip
    live.ready("late-config")
    assert live.view("late-config")["env"]["ARRIVED"] == "yes"


def test_working_dir_service(live: Conformance) -> None:
    live.service_with("working-dir", {"workingDir": "/tmp"})
    live.ready("working-dir")
    assert live.view("working-dir")["cwd"] == "/tmp"


def test_cmd_args(live: Conformance) -> None:
    """The process runner starts Unkai's runtime: ``command``/``args`` are refused in the
    revision's status rather than ignored (an image on the container runner honours them)."""
    live.service_with("cmd-args", {"command": ["/bin/server"], "args": ["--fast"]})
    ready = failed_with(live, "cmd-args", "UnsupportedByRunner")
    assert "command and args" in ready["message"]


def test_protocols(live: Conformance) -> None:
    """``http1`` and no name are HTTP/1.1 to the instance; ``h2c``, which the gateway
    cannot carry yet, fails the revision with a reason saying so."""
    for name, port in (("proto-default", {}), ("proto-http1", {"name": "http1"})):
        live.service_with(name, {"ports": [{"containerPort": 8080, **port}]})
        live.ready(name)
        assert live.view(name)["http_version"] == "1.1"
    live.service_with("proto-h2c", {"ports": [{"containerPort": 8080, "name": "h2c"}]})
    ready = failed_with(live, "proto-h2c", "ProtocolUnsupported")
    assert "h2c" in ready["message"]


READINESS = {
    "http-get": {"httpGet": {"path": "/healthz"}},
    "tcp-socket": {"tcpSocket": {}},
    "exec": {"exec": {"command": [
        sys.executable, "-c",
        "import os, urllib.request; "
        "urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz')",
    ]}},
}  # fmt: skip


@pytest.mark.parametrize("period", [0, 1])
@pytest.mark.parametrize("handler", list(READINESS))
def test_probe_runtime(live: Conformance, handler: str, period: int) -> None:
    """Ready means it answers at once, whatever the probe and its period. In the process
    runner's sandbox (the default) an exec probe is refused, in status, rather than run
    outside the instance (``tests/runners`` run exec probes without the sandbox)."""
    name = f"probe-{handler}-{period}"
    probe = {**READINESS[handler], **({"periodSeconds": period} if period else {})}
    live.service_with(name, {"readinessProbe": probe})
    if handler == "exec":
        refused = failed_with(live, name, "UnsupportedByRunner")
        assert "exec probes cannot run in the process runner's sandbox" in refused["message"]
        return
    live.ready(name)
    assert live.get(name).status_code == 200


def test_probe_runtime_after_startup(live: Conformance) -> None:
    """A readiness probe failing after start takes the only instance out of the gateway:
    requests are held (the activator's behaviour) instead of reaching it; once the probe
    passes again, it serves again."""
    name = "probe-after-startup"
    probe = {"httpGet": {"path": "/healthz"}, "periodSeconds": 1, "failureThreshold": 1}
    live.service_with(name, {"readinessProbe": probe}, annotations=MIN_SCALE_1, timeoutSeconds=30)
    live.ready(name)
    # The instance is reachable only through the gateway (its sandbox): it fails its
    # probe for a while, then passes again by itself.
    assert live.get(name, "/start-failing?for=8").status_code == 200

    def not_served() -> bool:
        try:
            with httpx2.Client(timeout=2) as http:
                url = f"http://127.0.0.1:{live.platform.gateway.port}/"
                response = http.get(url, headers={"Host": f"{name}.default.localhost"})
        except httpx2.TimeoutException:
            return True
        return response.status_code >= 500

    until(not_served, timeout=20, what="the unready instance left the gateway")
    until(lambda: not not_served(), timeout=30, what="the ready-again instance came back")


def test_must_have_headers_set(live: Conformance) -> None:
    """The instance sees the Host it was called by and an RFC 7239 Forwarded header."""
    live.service_with("headers-must")
    live.ready("headers-must")
    headers = live.view("headers-must")["headers"]
    assert headers["host"] == "headers-must.default.localhost"
    assert "for=" in headers["forwarded"]
    assert "proto=http" in headers["forwarded"]


def test_should_have_headers_set(live: Conformance) -> None:
    live.service_with("headers-should")
    live.ready("headers-should")
    sent = {
        "Host": "headers-should.default.localhost",
        "User-Agent": "conformance",
        "X-User": "kept",
    }
    with live.http() as http:
        response = http.get("/", headers=sent)
    headers = response.json()["headers"]
    assert (headers["user-agent"], headers["x-user"]) == ("conformance", "kept")
    assert headers["x-forwarded-proto"] == "http"
    assert "127.0.0.1" in headers["x-forwarded-for"]
    assert headers["traceparent"].startswith("00-")


def test_should_have_stdin_eof(live: Conformance) -> None:
    live.service_with("stdin-eof")
    live.ready("stdin-eof")
    assert live.get("stdin-eof", "/stdin").json() == {"read": ""}


def test_liveness_with_fail(live: Conformance) -> None:
    """A failing liveness probe restarts the instance (a new process serves); while it
    passes, the same process keeps serving."""
    name = "liveness-fail"
    probe = {"httpGet": {"path": "/livez"}, "periodSeconds": 1, "failureThreshold": 2}
    live.service_with(name, {"livenessProbe": probe}, annotations=MIN_SCALE_1, timeoutSeconds=5)
    live.ready(name)
    first = live.view(name)["pid"]
    for _ in range(3):  # several periods of passing probes: no restart
        live.get(name, "/healthz")
        assert live.view(name)["pid"] == first
    assert live.get(name, "/die").status_code == 200
    until(lambda: live.get(name).json().get("pid") != first, timeout=30,
          what="a new instance after the liveness failures")  # fmt: skip


def stat_of(live: Conformance, name: str, path: str) -> dict[str, Any]:
    """What ``os.stat`` (and ``readlink``) show the instance for ``path``; ``{}`` when it
    does not exist there."""
    response = live.get(name, f"/stat?path={path}")
    if response.status_code == 404:
        return {}
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def proc_mounts(live: Conformance, name: str) -> dict[str, list[str]]:
    """The instance's mount table: mount point -> [source, mount point, type, options…]."""
    table = live.get(name, "/file?path=/proc/mounts").text.splitlines()
    return {fields[1]: fields for fields in (line.split() for line in table)}


@pytest.fixture(scope="module")
def files_view(live: Conformance) -> str:
    """One ready instance of the runtime function for the file and mount checks."""
    live.service_with("files-view", annotations=MIN_SCALE_1)
    live.ready("files-view")
    return "files-view"


def test_must_have_files(live: Conformance, files_view: str) -> None:
    """The OCI runtime's devices, readable and writable by anyone; ``/dev/fd`` and the
    standard streams as links into ``/proc/self/fd``; ``/tmp`` a world-writable
    (sticky) directory."""
    for device in ("null", "zero", "full", "random", "urandom", "tty"):
        assert stat_of(live, files_view, f"/dev/{device}")["mode"] == "crw-rw-rw-", device
    assert stat_of(live, files_view, "/dev/fd")["link"] == "/proc/self/fd"
    for number, stream in enumerate(("stdin", "stdout", "stderr")):
        assert stat_of(live, files_view, f"/dev/{stream}")["link"] == f"/proc/self/fd/{number}"
    assert stat_of(live, files_view, "/proc/self/fd")["mode"].startswith("d")
    assert stat_of(live, files_view, "/tmp")["mode"] == "drwxrwxrwt"
    assert live.get(files_view, "/write?path=/tmp/must-have-files").text == "ok"


def test_should_have_files(live: Conformance, files_view: str) -> None:
    """``/etc/resolv.conf`` readable by anyone and writable by no other user (Knative
    wants ``rw-r--r--``; the machine's file is bound, with the machine's mode), and no
    ``/dev/console``."""
    others = stat_of(live, files_view, "/etc/resolv.conf")["mode"][7:9]
    assert others == "r-"
    assert stat_of(live, files_view, "/dev/console") == {}


def test_should_have_sysctl_read_only(live: Conformance, files_view: str) -> None:
    """``/proc/sys`` (and ``/proc/sysrq-trigger``) are mounted read-only: a sysctl cannot
    be changed from inside, not even by a function that runs as uid 0 (where the
    platform is root), which the kernel checks by uid alone."""
    mounts = proc_mounts(live, files_view)
    assert "ro" in mounts["/proc/sys"][3].split(","), mounts.get("/proc/sys")
    hostname = "/write?path=/proc/sys/kernel/hostname"  # the sandbox's own UTS namespace
    assert live.get(files_view, hostname).status_code == 403
    if os.geteuid() == 0 and Sandbox.detect().enabled:
        live.service_with("sysctl-as-root", {"securityContext": {"runAsUser": 0}})
        live.ready("sysctl-as-root")
        refused = live.get("sysctl-as-root", hostname)
        assert refused.status_code == 403
        assert "Read-only file system" in refused.text


def test_should_have_cgroup_read_only(live: Conformance, files_view: str) -> None:
    """No cgroup file system is writable from inside. The sandbox mounts none at all (a
    function cannot read its own limit files either: see TestMustHaveCgroupConfigured
    in docs/knative-compat.md), so writing a limit fails."""
    cgroups = [m for m in proc_mounts(live, files_view).values() if m[2] in {"cgroup", "cgroup2"}]
    assert all("ro" in m[3].split(",") for m in cgroups), cgroups
    for path in ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max"):
        assert live.get(files_view, f"/write?path={path}").status_code == 403


def isolating() -> None:
    """Skip where the platform cannot give limits and users (they need root)."""
    if not Sandbox.detect().enabled or os.geteuid() != 0:
        pytest.skip("limits and users need root and bubblewrap")


def limit_files(live: Conformance, name: str) -> dict[str, Path]:
    """The limit files of the cgroups the instance of ``name`` says it is in (its
    ``/proc/self/cgroup``), on this machine: ``memory`` and, where there is a cpu
    controller, ``cpu`` (v1 ``memory.limit_in_bytes`` / ``cpu.cfs_quota_us``, or v2
    ``memory.max`` / ``cpu.max``)."""
    lines = live.get(name, "/file?path=/proc/self/cgroup").text.splitlines()
    groups = {
        c: path for _, cs, path in (line.split(":", 2) for line in lines) for c in cs.split(",")
    }
    root = Path("/sys/fs/cgroup")
    if "memory" not in groups:  # v2: one group for every controller
        unified = root / groups[""].lstrip("/")
        return {"memory": unified / "memory.max", "cpu": unified / "cpu.max"}
    found = {"memory": root / "memory" / groups["memory"].lstrip("/") / "memory.limit_in_bytes"}
    if "unkai-" in groups.get("cpu", ""):  # placed in a cpu group of the platform's
        found["cpu"] = root / "cpu" / groups["cpu"].lstrip("/") / "cpu.cfs_quota_us"
    return found


def test_must_have_cgroup_configured(live: Conformance) -> None:
    """``resources.limits`` are the limits of the cgroup the instance runs in. Read from
    outside: the sandbox mounts no cgroup file system, so the function cannot read
    them itself (docs/knative-compat.md). This kernel may have no cpu controller
    (cgroup v1 with memory and pids only): then the revision says the CPU limit is not
    enforced instead."""
    isolating()
    name = "cgroup-configured"
    resources = {"limits": {"memory": "350Mi", "cpu": "250m"}}
    live.service_with(name, {"resources": resources}, annotations=MIN_SCALE_1)
    live.ready(name)
    files = limit_files(live, name)
    assert int(files["memory"].read_text()) == 350 * 2**20
    healthy = live.condition(f"{name}-00001", kinds.REVISION, "ContainerHealthy", lambda c: True)
    if "cpu" in files and files["cpu"].exists():
        quota = files["cpu"].read_text().split()[0]
        assert int(quota) == 25_000  # 250m of the 100 ms period
    else:
        assert healthy.get("reason") == "NotIsolated", healthy
        assert "resources.limits.cpu is not enforced" in healthy["message"]


def test_must_run_as_user(live: Conformance) -> None:
    """``securityContext.runAsUser``/``runAsGroup``: the instance's real and effective
    ids."""
    isolating()
    name = "run-as-user"
    live.service_with(name, {"securityContext": {"runAsUser": 1001, "runAsGroup": 1002}})
    live.ready(name)
    status = live.get(name, "/file?path=/proc/self/status").text.splitlines()
    ids = {line.split(":")[0]: line.split()[1:] for line in status if line[:4] in {"Uid:", "Gid:"}}
    assert ids == {"Uid": ["1001"] * 4, "Gid": ["1002"] * 4}
