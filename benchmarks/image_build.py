"""``unkai build`` of the hello function (``unkai init --template http``): build time
cold (empty cache) and warm (code changed, dependencies and runtime unchanged), the
size of the layers Unkai adds, and push time to a docker-registry on loopback (cold,
then again with every blob already there).

Run by hand: ``.venv/bin/python benchmarks/image_build.py``. Needs Debian's
docker-registry. The base image is a one-file stand-in pushed to the same registry (no
network here), so the figures are Unkai's part only.
"""

import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.build.registries import push_base_image, running

from unkai.build import image, push, references
from unkai.cli.main import cli


class Quiet:
    def step(self, activity: str) -> None: ...

    def transfer(self, what: str, done: int, total: int) -> None: ...


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "registry").mkdir()
        result = CliRunner().invoke(cli, ["init", "hello", "--path", str(root / "hello")])
        assert result.exit_code == 0, result.output
        with running(root / "registry") as registry:
            base = push_base_image(registry, root / "base")
            options = image.Options(base, cache=root / "cache")
            started = time.perf_counter()
            built = image.build(root / "hello", options, Quiet())
            cold = time.perf_counter() - started
            func = root / "hello" / "func.py"
            func.write_text(func.read_text() + "\n# changed\n")
            started = time.perf_counter()
            rebuilt = image.build(root / "hello", options, Quiet())
            warm = time.perf_counter() - started
            ours = rebuilt.layers[1:]
            target = references.parse(f"{registry.host}/fn/hello:1")
            with registry.client() as client:
                started = time.perf_counter()
                push.push(rebuilt, target, client, Quiet())
                push_cold = time.perf_counter() - started
                started = time.perf_counter()
                push.push(rebuilt, target, client, Quiet())
                push_warm = time.perf_counter() - started
        assert built.layers[:-1] == rebuilt.layers[:-1]
        print(f"build cold {cold:.2f} s, warm {warm:.2f} s")
        sizes = ", ".join(f"{layer.size / 2**20:.2f} MiB" for layer in ours)
        print(f"layers added (gzip): {sizes}")
        print(f"total added {sum(layer.size for layer in ours) / 2**20:.2f} MiB")
        print(f"push cold {push_cold:.2f} s, warm {push_warm:.2f} s")


if __name__ == "__main__":
    main()
