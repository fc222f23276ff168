"""Knative's runtime and volume conformance tests for an image on the container runner.

The image is made here from Debian's static busybox (no registry needed): ``httpd``
serves ``/www`` on ``$PORT`` and a CGI script reports the runtime view as Knative's
runtime test image does (PID 1's argv, cwd and environment, or a file's content).
Skips where podman does not work or no static busybox is installed.

Aspects: ``command``/``args`` replace the image's entrypoint (TestCmdArgs),
``workingDir`` (TestWorkingDirService), ``PORT`` is the containerPort
(TestMustEnvVars), ConfigMap and Secret volumes (plain and projected, with items) are
mounted read-only at their path (TestConfigMapVolume, TestSecretVolume,
TestProjectedComplex) and follow an update of the ConfigMap within seconds, an
``emptyDir`` is writable (TestServiceCreateWithEmptyDir) and one with ``medium: Memory``
is a tmpfs of its ``sizeLimit``, an ``exec`` readiness probe runs inside the container
(TestProbeRuntime), an image's ``USER`` is who runs it
(TestShouldRunAsUserContainerDefault), and an image named by a tag in a registry runs
the digest the tag had when the revision was made.
"""

import shutil
import subprocess
from pathlib import Path

import pytest
from lightkube.resources.core_v1 import Pod

from tests.build.registries import LocalRegistry
from tests.conformance.conftest import Conformance, until
from unkai.kube import kinds

pytestmark = pytest.mark.slow
IMAGE = "localhost/unkai-test/conformance-view:1"
USER_IMAGE = "localhost/unkai-test/conformance-view-user:1"  # the same, with USER 1001
VIEW = """#!/bin/busybox sh
body="$(case "$QUERY_STRING" in
  file=*) /bin/busybox cat "${QUERY_STRING#file=}" ;;
  write=*) echo written 2>&1 > "${QUERY_STRING#write=}" && echo ok ;;
  *) echo "argv=$(/bin/busybox tr '\\0' ' ' < /proc/1/cmdline)"
     echo "started_in=$(/bin/busybox cat /tmp/started-in)"
     /bin/busybox tr '\\0' '\\n' < /proc/1/environ ;;
esac)"
printf 'Content-Type: text/plain\\r\\nContent-Length: %s\\r\\n\\r\\n%s' "${#body}" "$body"
"""
SERVE = "/bin/busybox pwd > /tmp/started-in; exec /bin/busybox httpd -f -p $PORT -h /www"


@pytest.fixture(scope="module")
def view_rootfs(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], str]:
    """The podman command line that works here and the image's root file system (tar)."""
    podman, busybox = shutil.which("podman"), shutil.which("busybox")
    if podman is None:
        pytest.skip("podman is not installed (apt-get install podman runc)")
    engine = [podman, "--runtime", "runc", "--cgroup-manager=cgroupfs"]
    if subprocess.run([*engine, "info"], capture_output=True, timeout=60).returncode != 0:
        pytest.skip("podman is installed but `podman info` fails here")
    if busybox is None or b"/ld-linux" in Path(busybox).read_bytes()[:8192]:
        pytest.skip("no static busybox to build the image from (apt-get install busybox-static)")
    root = tmp_path_factory.mktemp("view-root")
    for folder in ("bin", "www/cgi-bin", "tmp", "data"):
        (root / folder).mkdir(parents=True)
    shutil.copy(busybox, root / "bin" / "busybox")
    script = root / "www" / "cgi-bin" / "view"
    script.write_text(VIEW)
    script.chmod(0o755)
    return engine, shutil.make_archive(str(root.parent / "view-rootfs"), "tar", root)


def imported(rootfs: tuple[list[str], str], image: str, *changes: str) -> str:
    engine, archive = rootfs
    command = f'["/bin/busybox", "sh", "-c", "{SERVE}"]'
    options = [f"--change={change}" for change in (f"CMD {command}", *changes)]
    subprocess.run([*engine, "import", *options, archive, image],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    return image


@pytest.fixture(scope="module")
def view_image(view_rootfs: tuple[list[str], str]) -> str:
    return imported(view_rootfs, IMAGE)


def report(live: Conformance, name: str) -> dict[str, str]:
    text = live.get(name, "/cgi-bin/view").text
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def file_text(live: Conformance, name: str, path: str) -> str:
    return live.get(name, f"/cgi-bin/view?file={path}").text  # the script reads it raw


def container(image: str, **fields: object) -> dict[str, object]:
    return {"image": image, **fields}


def test_cmd_args_working_dir_and_port(live: Conformance, view_image: str) -> None:
    live.service_with(
        "image-contract",
        container(view_image, command=["/bin/busybox", "sh", "-c"],
                  args=[SERVE.replace("-f", "-f -v")], workingDir="/data",
                  ports=[{"containerPort": 8801}]),
        timeoutSeconds=2,
    )  # fmt: skip
    live.ready("image-contract")
    seen = report(live, "image-contract")
    assert seen["argv"].split() == ["/bin/busybox", "httpd", "-f", "-v", "-p", "8801", "-h", "/www"]
    assert seen["started_in"] == "/data"
    assert (seen["PORT"], seen["K_REVISION"]) == ("8801", "image-contract-00001")


def test_config_map_and_secret_volumes(live: Conformance, view_image: str) -> None:
    volumes, mounts = live.every_volume_kind()
    probe = {"exec": {"command": ["/bin/busybox", "test", "-f", "/etc/conf/greeting"]}}
    live.service_with(
        "image-volumes", container(view_image, volumeMounts=mounts, readinessProbe=probe),
        volumes=volumes, timeoutSeconds=2, annotations={"autoscaling.knative.dev/min-scale": "1"},
    )  # fmt: skip
    live.ready("image-volumes")
    assert file_text(live, "image-volumes", "/etc/conf/greeting") == "hello"
    assert file_text(live, "image-volumes", "/etc/secret/token") == "s3cr3t"
    assert file_text(live, "image-volumes", "/etc/both/g") == "hello"
    assert file_text(live, "image-volumes", "/etc/both/token") == "s3cr3t"
    assert live.get("image-volumes", "/cgi-bin/view?write=/data/f").text.strip() == "ok"
    table = file_text(live, "image-volumes", "/proc/mounts").splitlines()
    mounted = {fields[1]: fields for fields in (line.split() for line in table)}
    assert mounted["/cache"][2] == "tmpfs"  # emptyDir medium: Memory
    assert "size=1024k" in mounted["/cache"][3]  # its sizeLimit, 1Mi
    assert "ok" not in live.get("image-volumes", "/cgi-bin/view?write=/etc/conf/f").text
    live.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "vol-conf"},
                "data": {"greeting": "updated"}})  # fmt: skip
    until(lambda: file_text(live, "image-volumes", "/etc/conf/greeting") == "updated",
          timeout=20, what="the mounted file follows the ConfigMap")  # fmt: skip
    assert file_text(live, "image-volumes", "/etc/both/g") == "updated"


def test_should_run_as_user_container_default(
    live: Conformance, view_rootfs: tuple[list[str], str]
) -> None:
    """No ``runAsUser``: the container runs as the image's own (unprivileged) user."""
    image = imported(view_rootfs, USER_IMAGE, "USER 1001:1002")
    live.service_with("image-user", container(image), timeoutSeconds=2)
    live.ready("image-user")
    status = file_text(live, "image-user", "/proc/self/status").splitlines()
    ids = {line.split(":")[0]: line.split()[1:] for line in status if line[:4] in {"Uid:", "Gid:"}}
    assert ids == {"Uid": ["1001"] * 4, "Gid": ["1002"] * 4}


def test_a_revision_runs_the_digest_its_tag_had(
    live: Conformance, view_rootfs: tuple[list[str], str], registry: LocalRegistry
) -> None:
    """A Service of a tag in a registry runs the digest the tag had when its revision
    was made: its instance is that image (the Pod view shows the digest), and after the
    tag is pushed again only a new revision runs the new image."""
    engine, _ = view_rootfs
    tag = f"{registry.host}/view:1"

    def push(version: str) -> None:
        local = imported(view_rootfs, f"localhost/unkai-test/conformance-{version}:1",
                         f"ENV VERSION={version}")  # fmt: skip
        subprocess.run([*engine, "push", "--tls-verify=false", local, tag],
                       check=True, capture_output=True, timeout=120)  # fmt: skip

    push("one")
    live.service_with("by-digest", container(tag), timeoutSeconds=2,
                      annotations={"autoscaling.knative.dev/min-scale": "1"})  # fmt: skip
    live.ready("by-digest")
    assert report(live, "by-digest")["VERSION"] == "one"
    status = live.service("by-digest-00001", kinds.REVISION)["status"]
    digest = status["containerStatuses"][0]["imageDigest"]
    assert digest.startswith(f"{registry.host}/view@sha256:")
    selector = {"serving.knative.dev/revision": "by-digest-00001"}

    def images() -> list[str]:
        pods = live.client().list(Pod, namespace="default", labels=selector)
        return [pod.spec.containers[0].image for pod in pods]

    until(lambda: images() == [digest], timeout=20, what=f"a Pod running {digest}")
    push("two")
    live.service_with("by-digest", container(tag, env=[{"name": "STEP", "value": "2"}]),
                      timeoutSeconds=2)  # fmt: skip
    live.wait_for("by-digest", lambda s: s.get("status", {}).get("latestReadyRevisionName")
                  == "by-digest-00002", timeout=60)  # fmt: skip
    until(lambda: report(live, "by-digest").get("VERSION") == "two", timeout=30,
          what="the new revision serves the new image")  # fmt: skip
