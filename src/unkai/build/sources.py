"""The three directories an image adds to its base, each built once per content.

* **dependencies** (``/opt/unkai/deps``): the function's requirements as wheels for the
  image's platform and Python (``pip install --target`` with the target's tags, under
  the runtime's constraints), less the runtime's own packages, as locally;
* **runtime** (``/opt/unkai/runtime``): Unkai and what its function runtime imports
  (:data:`IMAGE_RUNTIME` and their dependencies, not the CLI's or the platform's), in
  the versions this Unkai runs with. When the image's platform and Python are this
  machine's, the installed files are copied (no download, and exactly what the tests
  ran with); otherwise pip fetches the same versions' wheels for the target;
* **code** (``/app``): the function directory, less what its ``.funcignore`` (and the
  bundles' defaults) leave out, as the caller says (:class:`Ignores`).

Keys over the inputs (requirements and their local content, pins, target, Unkai's own
source) name cached layers (:func:`unkai.build.layers.cached`).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Final, Protocol

import unkai
from unkai.build import digests, layers, pins, pip, requirements
from unkai.build.layers import Layer
from unkai.build.oci import BlobStore
from unkai.build.platforms import Target
from unkai.build.requirements import RequirementsError

DEPS: Final = "opt/unkai/deps"
RUNTIME: Final = "opt/unkai/runtime"
CODE: Final = "app"
IMAGE_RUNTIME: Final = (
    "a2wsgi", "cloudevents", "httptools", "pydantic", "pyyaml", "starlette", "uvicorn",
    "uvloop", "wsproto",
)  # fmt: skip
"""The distributions ``unkai.runtime`` imports (through ``unkai.api`` and
``unkai.events`` too), and those uvicorn loads by the names the runtime configures
(``http="httptools"``, ``loop="auto"``: uvloop, ``ws="auto"``: wsproto). The rest of
Unkai's dependencies (cryptography, aiohttp, rich, lightkube…: 35 of 66 MiB) serve the
CLI and the platform, never an image. ``tests/build/test_runtime_layer.py`` checks the
list against the import graph and runs the runtime from the layer alone."""
_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")


class NoWheelError(RequirementsError):
    """A requirement has no wheel for the image's platform and Python."""


def dependencies(
    lines: Sequence[str], directory: Path, target: Target, store: BlobStore
) -> tuple[Layer | None, bool]:
    """The layer of the function's requirements (``None`` when it has none)."""
    if not any(line.strip() for line in lines):
        return None, True
    content = requirements.fingerprint(lines, directory)
    key = _key("deps", target.key, content, *pins.constraints(), *image_runtime())

    def build() -> Layer:
        with tempfile.TemporaryDirectory(prefix="unkai-deps-") as scratch:
            site = Path(scratch) / "site"
            try:
                pip.install(
                    requirements.for_pip(lines, directory),
                    target=site,
                    cwd=directory,
                    options=target.pip_options(),
                )
            except RequirementsError as error:
                missing = _NO_MATCH.search(str(error))
                if missing is None:
                    raise
                raise NoWheelError(
                    f"requirement {missing[1]} has no wheel for {target.os}/"
                    f"{target.architecture} and Python {target.python} (images take wheels"
                    " only: pick a version that publishes one, or vendor a built wheel)"
                ) from None
            pins.remove_runtime_copies(site, image_runtime())
            return layers.from_trees([(site, DEPS)], store)

    return layers.cached(store, key, build)


def runtime(target: Target, store: BlobStore) -> tuple[Layer, bool]:
    """The layer of the Unkai runtime and its dependencies, for ``target``."""
    package = Path(unkai.__file__).parent
    key = _key("runtime", target.key, digests.of_path(package), *pins.constraints())

    def build() -> Layer:
        with tempfile.TemporaryDirectory(prefix="unkai-runtime-") as scratch:
            site = Path(scratch) / "site"
            if target.is_host():
                _copy_installed(site)
            else:
                pinned = [f"{name}=={version}" for name, version in image_runtime().items()]
                pip.install(
                    pinned,
                    target=site,
                    cwd=Path(scratch),
                    options=target.pip_options(),
                    constrained=False,
                )
            shutil.copytree(
                package, site / "unkai", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
            return layers.from_trees([(site, RUNTIME)], store)

    return layers.cached(store, key, build)


class Ignores(Protocol):
    """Which of the function's paths (relative, ``/``-separated) stay out of the code
    layer. The callers pass the ``.funcignore`` rules of the bundles
    (``unkai.platform.bundles.ignore.Ignore.ignores``, a layer above this one), so an
    image holds the files a bundle holds."""

    def __call__(self, path: PurePosixPath, *, directory: bool) -> bool: ...


def code(directory: Path, store: BlobStore, ignores: Ignores | None = None) -> Layer:
    """The layer of the function's own files (not cached: it is what changes); without
    ``ignores``, less what tools and builds leave behind."""
    with tempfile.TemporaryDirectory(prefix="unkai-code-") as scratch:
        copy = Path(scratch) / "app"
        shutil.copytree(directory, copy, symlinks=True, ignore=_ignored(directory, ignores))
        return layers.from_trees([(copy, CODE)], store)


def _ignored(top: Path, ignores: Ignores | None) -> Callable[[str, list[str]], set[str]]:
    def byproducts(here: str, names: list[str]) -> set[str]:
        skipped = digests.BYPRODUCTS | (
            digests.TOP_LEVEL_BYPRODUCTS if Path(here) == top else frozenset()
        )
        return {name for name in names if name in skipped or name.endswith(".egg-info")}

    def rules(here: str, names: list[str]) -> set[str]:
        assert ignores is not None
        relative = PurePosixPath(Path(here).relative_to(top).as_posix())
        return {
            name for name in names
            if ignores(relative / name, directory=(Path(here) / name).is_dir())
        }  # fmt: skip

    return byproducts if ignores is None else rules


def image_runtime() -> dict[str, str]:
    """Canonical name -> version of what an image's runtime layer holds besides Unkai."""
    return pins.closure(IMAGE_RUNTIME)


def _copy_installed(site: Path) -> None:
    """Copy the installed files of the image runtime's distributions (Unkai, which may be
    an editable install, is copied apart) into ``site``, keeping their layout."""
    for name in image_runtime():
        distribution = metadata.distribution(name)
        root = Path(str(distribution.locate_file(""))).resolve()
        for file in distribution.files or []:
            source = Path(str(distribution.locate_file(file))).resolve()
            if not source.is_relative_to(root) or not source.is_file():
                continue  # scripts in bin/, files a RECORD names outside site-packages
            if "__pycache__" in source.parts:
                continue
            target = site / source.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _key(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
