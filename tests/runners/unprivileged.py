"""A stand-in for ``unkai up`` run by an unprivileged user: starts one sandboxed instance
of ``functions/spy`` with a process runner whose files are in the folder given as first
argument, asks it who it is and what it can read, prints that and the runner's gaps as
JSON, and stops. ``test_unprivileged`` runs it as ``nobody``."""

import asyncio
import json
import sys
from pathlib import Path

import httpx2

from unkai.platform.bundles import BundleStore, pack
from unkai.platform.runners import InstanceSpec, LogFiles, ProcessRunner

FUNCTION = Path(__file__).parent / "functions" / "spy"


async def main(work: Path) -> None:
    store = BundleStore(work / "bundles")
    digest = store.put(pack(FUNCTION))
    spec = InstanceSpec(
        namespace="default", revision="spy-00001", configuration="spy",
        image=f"unkai.local/default/spy@{digest}", bundle=store.path(digest),
    )  # fmt: skip
    secret = work / "token"
    secret.write_text("the platform's own")
    secret.chmod(0o600)
    runner = ProcessRunner(logs=LogFiles(work / "logs"), environments=work / "envs")
    try:
        instance = await runner.start(spec)
        transport = httpx2.AsyncHTTPTransport(uds=str(instance.socket_path))
        async with httpx2.AsyncClient(transport=transport, timeout=30) as client:
            whoami = (await client.get("http://spy/whoami")).json()
            read = (await client.get("http://spy/read", params={"path": str(secret)})).json()
            unshare = (await client.get("http://spy/unshare")).json()
    finally:
        await runner.close()
    report = {"gaps": runner.gaps, "whoami": whoami, "read": read, "unshare": unshare}
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
