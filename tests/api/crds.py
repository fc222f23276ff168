"""Knative's CRDs, as ``scripts/generate-schemas`` finds them, for the tests that compare
Unkai's kinds with them.

The CRDs sit next to the checkout (``../shared/knative-crds``), not in the repository,
so a user's clone has none: those tests skip there and say why.
"""

import functools
import runpy
from pathlib import Path
from typing import Any

import pytest

GENERATOR = Path(__file__).resolve().parents[2] / "scripts" / "generate-schemas"
_generator: dict[str, Any] = runpy.run_path(str(GENERATOR))  # defines, does not write

CRD_DIR: Path = _generator["CRD_DIR"]
VERSION: str = _generator["VERSION"]
OUTPUT: Path = _generator["OUTPUT"]
build = _generator["build"]
load = functools.cache(_generator["load"])  # one parse per CRD file for the whole session

needed = pytest.mark.skipif(
    not CRD_DIR.is_dir(), reason=f"Knative's CRDs are not next to this checkout ({CRD_DIR})"
)
