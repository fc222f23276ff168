"""Shared by the platform benchmarks: start `unkai up`, deploy bundles, read metrics."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import psutil
import yaml

from unkai.platform import bundles
from unkai.platform.bundles import endpoint

UNKAI = [sys.executable, "-m", "unkai.cli"]
SERVICES = "/apis/serving.knative.dev/v1/namespaces/default/services"


@dataclass
class Running:
    data_dir: Path
    api: httpx2.Client
    gateway_port: int
    pid: int

    def deploy(self, name: str, function: Path, *, annotations: dict[str, str] | None = None,
               concurrency: int = 0) -> None:  # fmt: skip
        data = bundles.pack(function)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        url = endpoint.path("default", digest)
        if self.api.head(url).status_code != 200:
            self.api.put(url, content=data).raise_for_status()
        image = bundles.format_reference(namespace="default", name=name, digest=digest)
        body = {
            "apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": name},
            "spec": {"template": {
                "metadata": {"annotations": annotations or {}},
                "spec": {"containerConcurrency": concurrency, "containers": [{"image": image}]},
            }},
        }  # fmt: skip
        self.api.post(SERVICES, json=body).raise_for_status()

    def wait_ready(self, name: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.api.get(f"{SERVICES}/{name}").json().get("status", {})
            if any(
                c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", [])
            ):
                return
            time.sleep(0.1)
        raise TimeoutError(name)

    def metric(self, name: str, **labels: str) -> float:
        """Sum of a Prometheus metric's samples matching ``labels``."""
        total = 0.0
        for line in self.api.get("/metrics").text.splitlines():
            if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def rss_mib(self, *, with_children: bool) -> float:
        process = psutil.Process(self.pid)
        processes = [process, *(process.children(recursive=True) if with_children else [])]
        return sum(p.memory_info().rss for p in processes) / 2**20


def connection(data_dir: Path) -> dict[str, Any]:
    """httpx client options for the platform whose data dir this is: its kubeconfig's
    server, CA and token, as any client of the API uses them."""
    config = yaml.safe_load((data_dir / "platform" / "kubeconfig").read_text())
    cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
    ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
    return {
        "base_url": cluster["server"],
        "headers": {"Authorization": f"Bearer {user['token']}"},
        "verify": ssl.create_default_context(cadata=ca),
        "timeout": 60,
    }


@contextmanager
def platform(*args: str, env: dict[str, str] | None = None,
             data_dir: Path | None = None) -> Iterator[Running]:  # fmt: skip
    """`unkai up --detach` with ``args``, ``env`` on top of this process's environment, in
    ``data_dir`` (kept: a second start there is a restart) or a temporary one."""
    with tempfile.TemporaryDirectory() as temporary:
        home = str(data_dir or temporary)
        env = {**os.environ, **(env or {}), "UNKAI_DATA_DIR": home}
        subprocess.run([*UNKAI, "up", "--detach", "--api-port", "0", "--port", "0", *args],
                       env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        try:
            running = json.loads((Path(home) / "platform" / "running.json").read_text())
            with httpx2.Client(**connection(Path(home))) as api:
                port = int(running["gateway_url"].rsplit(":", 1)[1])
                yield Running(Path(home), api, port, int(running["pid"]))
        finally:
            subprocess.run([*UNKAI, "down"], env=env, check=False, stdout=subprocess.DEVNULL)
