"""The runtime layer holds what the function runtime needs and nothing of the CLI's or
the platform's: its list covers every distribution ``unkai.runtime`` imports (read
from the import graph, lazy imports included), and the runtime serves a function from
that layer alone (``python -S``: no site-packages, only the layer on PYTHONPATH)."""

import gzip
import importlib.metadata
import sys
import tarfile
from pathlib import Path

import grimp
import httpx2
import pytest
from packaging.utils import canonicalize_name
from tests.support.servers import serve

from unkai.build import oci, pins, platforms, sources

BROUGHT_BY_THE_FUNCTION = {"grpcio"}
"""Imported by the runtime only for a function that lists it in its own requirements
(``signature: grpc``, :mod:`unkai.runtime.grpcserve`): its dependency layer has it."""


def _imported_distributions() -> set[str]:
    """The distributions of every package ``unkai.runtime`` imports, directly or
    through the Unkai modules it imports."""
    graph = grimp.build_graph("unkai", include_external_packages=True)
    pending = [module for module in graph.modules if module.startswith("unkai.runtime")]
    seen: set[str] = set()
    while pending:
        module = pending.pop()
        if module not in seen:
            seen.add(module)
            pending += graph.find_modules_directly_imported_by(module)
    owners = importlib.metadata.packages_distributions()
    return {
        canonicalize_name(distribution)
        for module in seen
        if module.partition(".")[0] not in sys.stdlib_module_names
        and not module.startswith("unkai")
        for distribution in owners.get(module.partition(".")[0], [module])
    }


def test_the_image_runtime_holds_every_distribution_the_runtime_imports() -> None:
    imported = _imported_distributions()
    assert {"starlette", "uvicorn", "pydantic"} <= imported  # the graph was read
    assert imported - set(sources.image_runtime()) - BROUGHT_BY_THE_FUNCTION == set()
    assert {"cryptography", "rich", "lightkube", "aiohttp"}.isdisjoint(sources.image_runtime())


@pytest.mark.slow
def test_the_runtime_serves_a_function_from_its_layer_alone(tmp_path: Path) -> None:
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    host = platforms.Target("linux", platforms.host_architecture(), python)
    store = oci.BlobStore(tmp_path / "blobs")
    layer, _ = sources.runtime(host, store)
    root = tmp_path / "root"
    with tarfile.open(fileobj=gzip.open(store.path(layer.descriptor.digest))) as tar:
        tar.extractall(root, filter="data")
    function = tmp_path / "hello"
    function.mkdir()
    (function / "func.yaml").write_text("name: hello\nsignature: http\n")
    (function / "func.py").write_text("def handle(request):\n    return 'from the layer'\n")
    env = {"PYTHONPATH": str(root / sources.RUNTIME)}
    with serve(function, env=env, python_flags=("-S",)) as running:
        answer = httpx2.get(running.url + "/")
    assert (answer.status_code, answer.text) == (200, "from the layer")


def _installed(site: Path, name: str) -> None:
    """A distribution as pip --target leaves it: its package and a RECORD naming it."""
    (site / name).mkdir(parents=True)
    (site / name / "__init__.py").write_text("")
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "RECORD").write_text(
        f"{name}/__init__.py,,\n{name}-1.0.dist-info/METADATA,,\n{name}-1.0.dist-info/RECORD,,\n"
    )


def test_a_functions_copy_of_a_cli_only_package_stays_in_its_dependency_layer(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"
    _installed(site, "starlette")  # the runtime layer has it: its copy goes
    _installed(site, "rich")  # only Unkai's CLI uses it: an image would miss it
    pins.remove_runtime_copies(site, sources.image_runtime())
    assert sorted(path.name for path in site.iterdir()) == ["rich", "rich-1.0.dist-info"]
