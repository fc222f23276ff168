"""An h2c container image on the container runner: a gRPC server (Debian's grpcio on a
Debian root filesystem made by ``mmdebstrap``, no registry needed) in a Service whose
port is named ``h2c``, called through the gateway with a real grpcio client and with
HTTP/1.1, as a gRPC image is called on Knative. Skips, saying why, where podman or
mmdebstrap cannot run.
"""

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import grpc
import httpx2
import pytest

from tests.conformance.conftest import Conformance
from unkai.platform.runners.container import PODMAN_OPTIONS

pytestmark = pytest.mark.slow

IMAGE = "localhost/unkai-test/h2c-grpc:1"
ROOTFS = (
    "mmdebstrap", "--quiet", "--variant=extract",
    "--include=python3-minimal,libpython3-stdlib,python3-grpcio",
    "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*", "bookworm",
)  # fmt: skip
SERVER = b"""\
import os
import signal
from concurrent import futures

import grpc


def say(request, context):
    context.set_trailing_metadata((("echo-size", str(len(request))),))
    return os.environ["K_REVISION"].encode() + b":" + request


def count(request, context):
    for number in range(int(request)):
        yield str(number).encode()


handlers = {
    "Say": grpc.unary_unary_rpc_method_handler(say),
    "Count": grpc.unary_stream_rpc_method_handler(count),
}
server = grpc.server(futures.ThreadPoolExecutor(4))
server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("echo.Echo", handlers),))
server.add_insecure_port("0.0.0.0:" + os.environ["PORT"])
server.start()
# PID 1 in its container: SIGTERM does nothing unless handled, and the stop would wait
signal.signal(signal.SIGTERM, lambda *_: server.stop(grace=5))
server.wait_for_termination()
"""


def _rootfs() -> Path:
    """Debian with python3 and grpcio, as a tar; made once and cached outside the
    repository, keyed by the command that made it (as ``tests.build.python_base``)."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    key = hashlib.sha256(" ".join(ROOTFS).encode()).hexdigest()[:12]
    cached = Path(root) / "unkai-tests" / f"grpc-rootfs-{key}.tar"
    if cached.exists():
        return cached
    if shutil.which(ROOTFS[0]) is None:
        pytest.skip("mmdebstrap is not installed (Debian: apt-get install mmdebstrap)")
    cached.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cached.parent, prefix=".making-") as scratch:
        made = Path(scratch) / "rootfs.tar"
        run = subprocess.run([*ROOTFS, str(made)], capture_output=True, text=True, timeout=900)
        if run.returncode != 0:
            last = (run.stderr.strip().splitlines() or ["failed"])[-1]
            pytest.skip(f"mmdebstrap cannot make a root filesystem here: {last}")
        made.rename(cached)  # whole or not at all
    return cached


@pytest.fixture(scope="module")
def grpc_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The image, imported into podman's local store."""
    podman = shutil.which("podman")
    if podman is None:
        pytest.skip("podman is not installed (Debian: apt-get install podman runc)")
    engine = [podman, *PODMAN_OPTIONS]
    info = subprocess.run([*engine, "info"], capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        last = (info.stderr.strip().splitlines() or ["failed"])[-1]
        pytest.skip(f"podman is installed but `podman info` fails here: {last}")
    archive = tmp_path_factory.mktemp("h2c-image") / "rootfs.tar"
    shutil.copyfile(_rootfs(), archive)
    with tarfile.open(archive, "a") as tar:
        entry = tarfile.TarInfo("./srv/echo.py")
        entry.size, entry.mode = len(SERVER), 0o644
        tar.addfile(entry, io.BytesIO(SERVER))
    change = 'CMD ["python3", "/srv/echo.py"]'
    subprocess.run([*engine, "import", "--change", change, str(archive), IMAGE],
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    return IMAGE


def test_a_grpc_image_with_an_h2c_port_answers_grpc_and_http1_through_the_gateway(
    live: Conformance, grpc_image: str
) -> None:
    live.apply({
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": "grpc-image"},
        "spec": {"template": {"spec": {"containers": [
            {"image": grpc_image, "ports": [{"name": "h2c", "containerPort": 8080}]},
        ]}}},
    })  # fmt: skip
    live.ready("grpc-image")
    host = "grpc-image.default.localhost"
    target = f"127.0.0.1:{live.platform.gateway.port}"
    with grpc.insecure_channel(target, options=(("grpc.default_authority", host),)) as channel:
        reply, call = channel.unary_unary("/echo.Echo/Say").with_call(b"hello", timeout=30)
        counted = list(channel.unary_stream("/echo.Echo/Count")(b"50", timeout=30))
    assert reply == b"grpc-image-00001:hello"
    assert ("echo-size", "5") in call.trailing_metadata()
    assert counted == [str(number).encode() for number in range(50)]
    # HTTP/1.1, as curl sends it: translated to a stream; the reply's body comes back
    with httpx2.Client(base_url=f"http://{target}", timeout=30) as client:
        answer = client.post(
            "/echo.Echo/Say",
            content=b"\x00\x00\x00\x00\x02hi",
            headers={"Host": host, "content-type": "application/grpc", "te": "trailers"},
        )
    assert answer.status_code == 200
    assert answer.content == b"\x00\x00\x00\x00\x13grpc-image-00001:hi"
