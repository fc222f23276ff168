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
"""

import gzip
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.build import python_base
from tests.build.registries import running

from unkai.build import image, oci, push, references
from unkai.cli.main import cli


class Quiet:
    def step(self, activity: str) -> None: ...

    def transfer(self, what: str, done: int, total: int) -> None: ...


def _mib(count: int) -> str:
    return f"{count / 2**20:.2f} MiB"


def _unpacked(built: oci.Image, descriptor: oci.Descriptor) -> int:
    with gzip.open(built.blobs.path(descriptor.digest)) as stream:
        return sum(len(chunk) for chunk in iter(lambda: stream.read(1 << 20), b""))


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
    main(sys.argv[1:])
