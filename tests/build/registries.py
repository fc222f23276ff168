"""A real OCI registry for tests: Debian's ``docker-registry`` (the CNCF distribution
server) on a loopback port with a temporary storage directory, optionally behind
htpasswd basic auth; and a small base image made here and pushed into it."""

import json
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import httpx2
import pytest

from unkai.build import layers, oci
from unkai.build.credentials import Credentials
from unkai.build.references import parse
from unkai.build.registry import Registry

PROGRAM = "docker-registry"
_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


@dataclass(frozen=True)
class LocalRegistry:
    host: str
    credentials: Credentials | None

    def client(self) -> Registry:
        return Registry(self.host, self.credentials)


@contextmanager
def running(
    directory: Path, credentials: Credentials | None = None, *, token_auth: str = ""
) -> Iterator[LocalRegistry]:
    """A registry on 127.0.0.1 (a free port) storing in ``directory``, until the block
    ends: open, behind htpasswd for ``credentials``, or behind ``token_auth`` (the
    ``auth:`` section for a token server, see ``tokens``) that ``credentials`` pass."""
    if shutil.which(PROGRAM) is None:
        pytest.skip(f"{PROGRAM} is not installed (Debian: apt-get install docker-registry)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    auth = token_auth
    if credentials is not None and not token_auth:
        hashed = bcrypt.hashpw(credentials.secret.encode(), bcrypt.gensalt(rounds=4)).decode()
        (directory / "htpasswd").write_text(f"{credentials.username}:{hashed}\n")
        auth = f"auth:\n  htpasswd:\n    realm: tests\n    path: {directory / 'htpasswd'}\n"
    config = directory / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {directory / 'storage'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n{auth}"
    )
    log = (directory / "registry.log").open("wb")
    process = subprocess.Popen([PROGRAM, "serve", str(config)], stdout=log, stderr=log)
    try:
        _wait_until_serving(port, process, directory / "registry.log")
        yield LocalRegistry(f"127.0.0.1:{port}", credentials)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _wait_until_serving(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{PROGRAM} exited: {log.read_text()}")
        try:
            httpx2.get(f"http://127.0.0.1:{port}/v2/", timeout=1)
            return
        except httpx2.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{PROGRAM} did not answer within 15 s: {log.read_text()}")


def push_base_image(registry: LocalRegistry, scratch: Path, name: str = "base/python") -> str:
    """Push a one-layer image standing in for the official Python image (this machine's
    architecture and Python version, a file for a root filesystem); return its ref."""
    rootfs = scratch / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc" / "os-release").write_text("ID=unkai-test-base\n")
    store = oci.BlobStore(scratch / "blobs")
    layer = layers.from_trees([(rootfs, "")], store)
    version = ".".join(map(str, sys.version_info[:3]))
    env = ["PATH=/usr/local/bin:/usr/bin:/bin", f"PYTHON_VERSION={version}"]
    return push_image(registry, store, layer, env=env, name=name)


def push_image(
    registry: LocalRegistry, store: oci.BlobStore, layer: layers.Layer, *, env: list[str],
    name: str,
) -> str:  # fmt: skip
    """Push a one-layer image of ``layer`` (its blob in ``store``) for this machine's
    architecture, with ``env``, as ``name:1``; return its reference."""
    config = oci.canonical(
        {
            "architecture": _ARCH.get(platform.machine(), platform.machine()),
            "os": "linux",
            "config": {"Env": env},
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
        }
    )
    config_digest = store.put(config)
    reference = parse(f"{registry.host}/{name}:1")
    with registry.client() as client:
        for digest in (layer.descriptor.digest, config_digest):
            client.push_blob(reference.repository, digest, store.path(digest))
        client.put_manifest(reference, oci.MANIFEST, oci.manifest(config, (layer.descriptor,), {}))
    return str(reference)


def manifest_of(registry: LocalRegistry, reference: str) -> tuple[str, dict[str, object]]:
    """The digest and document the registry serves for ``reference`` (read with httpx2)."""
    parsed = parse(reference)
    response = httpx2.get(
        f"http://{registry.host}/v2/{parsed.repository}/manifests/{parsed.version}",
        headers={"Accept": oci.MANIFEST},
        auth=None
        if registry.credentials is None
        else (registry.credentials.username, registry.credentials.secret),
    )
    response.raise_for_status()
    return response.headers["docker-content-digest"], json.loads(response.content)


def push_version(registry: LocalRegistry, scratch: Path, content: str, name: str = "app") -> str:
    """Push a one-layer image holding ``content`` (a file ``version``) as ``name:1``: a
    new image under the same tag for each ``content``; return its manifest's digest."""
    rootfs = scratch / "rootfs"
    rootfs.mkdir(parents=True)
    (rootfs / "version").write_text(content)
    store = oci.BlobStore(scratch / "blobs")
    layer = layers.from_trees([(rootfs, "")], store)
    pushed = parse(push_image(registry, store, layer, env=[], name=name))
    with registry.client() as client:
        return oci.digest_of(client.manifest(pushed)[1])
