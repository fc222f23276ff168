"""A real Python base image for tests that run a built image in a container: Debian's
python3 made with ``mmdebstrap``, standing in for the official ``python:3.x-slim``.

``--variant=extract`` unpacks python3 and what it depends on without running package
scripts: a root filesystem that runs ``python3`` and nothing else (no shell, no apt),
in about 30 s here against 1 min 47 s for the ``essential`` variant (dpkg configures
every package; docs/benchmarks.md). It is made once and cached outside the repository
(``$XDG_CACHE_HOME/unkai-tests``, else ``~/.cache/unkai-tests``) as a gzip'd layer,
keyed by the command that made it; each test pushes it into its own registry.
"""

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest
from tests.build.registries import LocalRegistry, push_image

from unkai.build import oci
from unkai.build.layers import Layer

SUITE = "bookworm"
COMMAND = (
    "mmdebstrap", "--quiet", "--variant=extract",
    "--include=python3-minimal,libpython3-stdlib",
    "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*", SUITE,
)  # fmt: skip
_PYTHON = re.compile(r"^\./usr/bin/python(3\.\d+)$")


def cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    key = hashlib.sha256(" ".join(COMMAND).encode()).hexdigest()[:12]
    return Path(root) / "unkai-tests" / f"python-base-{key}"


def push(registry: LocalRegistry, scratch: Path, name: str = "base/debian-python") -> str:
    """Push the base to ``registry`` as ``name:1``; its reference."""
    store = oci.BlobStore(scratch / "blobs")
    base, python = _layer(store)
    env = ["PATH=/usr/local/bin:/usr/bin:/bin", f"PYTHON_VERSION={python}"]
    return push_image(registry, store, base, env=env, name=name)


def python() -> str:
    """The base's Python minor version (``3.11``), once :func:`push` has made it."""
    return str(json.loads((cache_dir() / "meta.json").read_text())["python"])


def _layer(store: oci.BlobStore) -> tuple[Layer, str]:
    """The base's one layer, put into ``store``, and its Python (``3.11``); made on
    first use (the test skips, saying why, where mmdebstrap cannot run)."""
    cached = cache_dir()
    if not (cached / "meta.json").exists():
        _make(cached)
    meta = json.loads((cached / "meta.json").read_text())
    blob = cached / "layer.tar.gz"
    if not store.has(meta["digest"]):
        store.root.mkdir(parents=True, exist_ok=True)
        copy = store.root / ".base-layer"
        shutil.copyfile(blob, copy)
        store.put_file(copy, meta["digest"])
    descriptor = oci.Descriptor(oci.LAYER, meta["digest"], blob.stat().st_size)
    return Layer(descriptor, meta["diff_id"]), meta["python"]


def _make(cached: Path) -> None:
    if shutil.which(COMMAND[0]) is None:
        pytest.skip("mmdebstrap is not installed (Debian: apt-get install mmdebstrap)")
    cached.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cached.parent, prefix=".making-") as scratch:
        rootfs = Path(scratch) / "rootfs.tar"
        made = subprocess.run(
            [*COMMAND, str(rootfs)], capture_output=True, text=True, timeout=600, check=False
        )
        if made.returncode != 0:
            last = (made.stderr.strip().splitlines() or ["failed"])[-1]
            pytest.skip(f"mmdebstrap cannot make a root filesystem here: {last}")
        with tarfile.open(rootfs) as tar:
            pythons = [m[1] for name in tar.getnames() if (m := _PYTHON.match(name))]
        staged = Path(scratch) / "made"
        staged.mkdir()
        blob = staged / "layer.tar.gz"
        with rootfs.open("rb") as source, gzip.open(blob, "wb", compresslevel=1) as zipped:
            shutil.copyfileobj(source, zipped, 1 << 20)
        meta = {
            "digest": _digest(blob),
            "diff_id": _digest(rootfs),
            "python": max(pythons, key=lambda version: int(version.split(".")[1])),
        }
        (staged / "meta.json").write_text(json.dumps(meta))
        staged.rename(cached)  # whole or not at all: a run stopped halfway leaves nothing


def _digest(path: Path) -> str:
    with path.open("rb") as stream:
        return "sha256:" + hashlib.file_digest(stream, "sha256").hexdigest()
