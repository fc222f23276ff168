"""A stand-in for ``unkai up``: runs one instance of ``functions/echo`` with a process
runner (``fork`` or ``spawn`` mode, first argument), prints its port, and waits to be
killed. ``test_lifeline`` kills it with SIGKILL."""

import asyncio
import sys
from pathlib import Path

from unkai.platform.bundles import BundleStore, pack
from unkai.platform.runners import InstanceSpec, LogFiles, ProcessRunner

FUNCTION = Path(__file__).parent / "functions" / "echo"


async def main(mode: str, work: Path) -> None:
    store = BundleStore(work / "bundles")
    digest = store.put(pack(FUNCTION))
    spec = InstanceSpec(
        namespace="default", revision="echo-00001", configuration="echo",
        image=f"unkai.local/default/echo@{digest}", bundle=store.path(digest),
    )  # fmt: skip
    runner = ProcessRunner(
        logs=LogFiles(work / "logs"), environments=work / "envs", mode=mode,  # type: ignore[arg-type]
        isolate=False,  # reached on its loopback port
    )  # fmt: skip
    instance = await runner.start(spec)
    print(instance.port, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
