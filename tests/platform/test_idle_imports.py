"""``unkai up`` with nothing deployed leaves out what only a function, an event or a
client needs: every user of the embedded platform pays its idle memory (issue 12: at
most 60 MiB RSS), and each of these cost it from 1 to 11 MiB (docs/benchmarks.md,
"Footprint"). They load on first use instead; a top-level import that brings one back
fails here, naming what first needs it.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

LATE = {
    "aiohttp": "the event sender's client (first delivery)",
    "pydantic": "func.yaml's models (a revision's bundle is read)",
    "unkai.api.funcyaml": "func.yaml's models (a revision's bundle is read)",
    "unkai.runtime.server": "the function runtime (runs in instances, not in the platform)",
    "unkai.runtime.loader": "the function runtime's loader (a revision's bundle is read)",
    "unkai.build.image": "the image builder (an image is unpacked to run as a process)",
    "unkai.build.registry": "the registry client (an image is pulled)",
    "lightkube": "the CLI's Kubernetes client (resource commands)",
    "httpx2": "the CLI's HTTP client (resource commands)",
    "psutil": "a stale running record is checked",
    "cryptography": "the API's certificate is made (in a child: python -m unkai.certificates)",
}
"""Module -> what first needs it."""

# What `python -m unkai.cli up` imports, then the platform started as `up` starts it;
# prints the modules loaded at that point.
SCRIPT = """
import json, sys
from pathlib import Path

import unkai.cli.main, unkai.cli.platform
from unkai.platform import embedded

async def main():
    settings = embedded.Settings(data_dir=Path(sys.argv[1]), api_port=0, gateway_port=0)
    platform = embedded.Platform(settings)
    await platform.start()
    try:
        print(json.dumps(sorted(sys.modules)))
    finally:
        await platform.stop()

embedded.run(main())
"""


@pytest.mark.slow
def test_an_idle_platform_has_not_imported_what_it_loads_on_first_use(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    modules = set(json.loads(result.stdout))
    assert "unkai.platform.embedded" in modules  # the platform did start in that process
    # What pulled one in: `python -X importtime` shows who imported it (or run
    # benchmarks/footprint.py --idle).
    assert {module: why for module, why in LATE.items() if module in modules} == {}
