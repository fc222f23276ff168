"""``unkai build`` of the hello function (``unkai init --template http``) on a real
Debian Python base: build time cold (empty cache) and warm (code changed, runtime and
dependencies unchanged), the image's size (base and Unkai's layers, gzip'd and
unpacked), and push time to a docker-registry on loopback (cold, then again with every
blob already there).

Run by hand: ``.venv/bin/python benchmarks/image_build.py [REQUIREMENT ...]`` (the
requirements go into requirements.txt; pip fetches their wheels for the image as a build
does). Needs Debian's docker-registry and mmdebstrap: the base is the tests' Debian
python3 root filesystem (``tests/build/python_base.py``, made once and cached), pushed
to the same registry, so the figures leave out a pull over the internet.

With ``--podman BASE`` it also builds the printed Dockerfile (``unkai build
--dockerfile --unkai-wheel``, a wheel of this Unkai made with ``pip wheel`` in the
function's directory) with ``podman build`` on ``BASE``, an image in podman's store with
a shell and pip (the tests' base has neither): cold (no layer cache: pip fetches the
runtime from the index) and warm (code changed), and the size the build added to
``BASE``. The built image is removed afterwards. How the measured BASE was made is in
docs/benchmarks.md.
"""

import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath

from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.build import python_base
from tests.build.registries import running

from unkai.build import dockerfile, image, oci, push, references
from unkai.cli.main import cli
from unkai.platform.runners.container import PODMAN_OPTIONS, default_ulimits

_PODMAN = ("podman", *PODMAN_OPTIONS)


class Quiet:
    def step(self, activity: str) -> None: ...

    def transfer(self, what: str, done: int, total: int) -> None: ...


def _mib(count: int) -> str:
    return f"{count / 2**20:.2f} MiB"


def _unpacked(built: oci.Image, descriptor: oci.Descriptor) -> int:
    with gzip.open(built.blobs.path(descriptor.digest)) as stream:
        return sum(len(chunk) for chunk in iter(lambda: stream.read(1 << 20), b""))


def _podman(*args: str) -> str:
    done = subprocess.run([*_PODMAN, *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _image_size(ref: str) -> int:
    return int(json.loads(_podman("image", "inspect", ref))[0]["Size"])


def _built_on(base: str) -> set[str]:
    """The images in podman's store built on ``base`` (a build's intermediate images
    too), so a run removes what it made and nothing of anyone else's."""
    ids = _podman("images", "--all", "--quiet", "--no-trunc").split()
    below = json.loads(_podman("image", "inspect", base))[0]
    found = json.loads(_podman("image", "inspect", *ids)) if ids else []
    return {
        image["Id"]
        for image in found
        if image["Id"] != below["Id"]
        and image["RootFS"]["Layers"][: len(below["RootFS"]["Layers"])] == below["RootFS"]["Layers"]
    }


def podman_build(requirements: list[str], base: str, root: Path) -> None:
    """``podman build`` of the printed Dockerfile, cold then warm, and what it added."""
    function = root / "podman-hello"
    result = CliRunner().invoke(cli, ["init", "hello", "--path", str(function)])
    assert result.exit_code == 0, result.output
    (function / "requirements.txt").write_text("".join(f"{r}\n" for r in requirements))
    made = subprocess.run(
        [sys.executable, "-m", *dockerfile.wheel_command().split()[2:]],
        cwd=function, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    wheel = next(function.glob("unkai-*.whl"))
    text = dockerfile.render(function, base, PurePosixPath(wheel.name))
    (function / "Dockerfile").write_text(text)
    tag = "localhost/unkai-bench/podman-hello:1"
    limits = [part for limit in default_ulimits() for part in ("--ulimit", limit)]
    build = ("build", "--quiet", "--pull=never", "--layers", *limits, "-t", tag, str(function))
    before = _built_on(base)
    try:
        started = time.perf_counter()
        _podman(*build[:1], "--no-cache", *build[1:])
        cold = time.perf_counter() - started
        func = function / "func.py"
        func.write_text(func.read_text() + "\n# changed\n")
        started = time.perf_counter()
        _podman(*build)
        warm = time.perf_counter() - started
        added = _image_size(tag) - _image_size(base)
        history = _podman("history", "--format", "{{.Size}}\t{{.CreatedBy}}", tag)
    finally:
        made_here = sorted(_built_on(base) - before)
        subprocess.run([*_PODMAN, "rmi", "--force", *made_here], capture_output=True, check=False)
    print(f"podman build cold {cold:.2f} s, warm {warm:.2f} s")
    carried = _mib(wheel.stat().st_size)
    print(f"podman image adds {_mib(added)} unpacked to {base} (wheel {carried} in /app)")
    for line in history.splitlines():
        size, _, command = line.partition("\t")
        if not size.startswith("0"):
            print(f"  {size}: {command[:100]}")


def main(requirements: list[str]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "registry").mkdir()
        result = CliRunner().invoke(cli, ["init", "hello", "--path", str(root / "hello")])
        assert result.exit_code == 0, result.output
        (root / "hello" / "requirements.txt").write_text("".join(f"{r}\n" for r in requirements))
        with running(root / "registry") as registry:
            base = python_base.push(registry, root / "base")
            options = image.Options(base, cache=root / "cache")
            started = time.perf_counter()
            built = image.build(root / "hello", options, Quiet())
            cold = time.perf_counter() - started
            func = root / "hello" / "func.py"
            func.write_text(func.read_text() + "\n# changed\n")
            started = time.perf_counter()
            rebuilt = image.build(root / "hello", options, Quiet())
            warm = time.perf_counter() - started
            target = references.parse(f"{registry.host}/fn/hello:1")
            with registry.client() as client:
                started = time.perf_counter()
                push.push(rebuilt, target, client, Quiet())
                push_cold = time.perf_counter() - started
                started = time.perf_counter()
                push.push(rebuilt, target, client, Quiet())
                push_warm = time.perf_counter() - started
        assert built.layers[:-1] == rebuilt.layers[:-1]  # only the code layer is new
        print(f"requirements {requirements or 'none'}")
        print(f"build cold {cold:.2f} s, warm {warm:.2f} s")
        names = ["base", "runtime", *(["dependencies"] if requirements else []), "code"]
        for name, layer in zip(names, rebuilt.layers, strict=True):
            print(f"{name}: {_mib(layer.size)} gzip, {_mib(_unpacked(rebuilt, layer))} unpacked")
        ours = rebuilt.layers[1:]
        print(f"image {_mib(sum(layer.size for layer in rebuilt.layers))} gzip; "
              f"Unkai's layers {_mib(sum(layer.size for layer in ours))}")  # fmt: skip
        print(f"push cold {push_cold:.2f} s, warm {push_warm:.2f} s")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["--podman"]:
        arguments = arguments[2:]
        with tempfile.TemporaryDirectory() as scratch:
            podman_build(arguments, sys.argv[2], Path(scratch))
    main(arguments)
