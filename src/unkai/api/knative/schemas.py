"""OpenAPI v3 schemas and printer columns of the Knative kinds Unkai serves.

They are data generated from Knative's CRDs by ``scripts/generate-schemas`` and ship
as ``schemas.json`` next to this module, read once, at import: the registry needs them
for every kind it builds, and generated data is easier to diff and regenerate as a
file than as a Python literal. Keys are (group, version, plural), as in the registry.
"""

import json
from importlib import resources
from typing import Any, Final

Key = tuple[str, str, str]
PrinterColumn = dict[str, str]


def _kinds() -> list[dict[str, Any]]:
    """The generated entries: group, version, plural, schema and printer_columns."""
    text = resources.files("unkai.api.knative").joinpath("schemas.json").read_text("utf-8")
    kinds: list[dict[str, Any]] = json.loads(text)["kinds"]
    return kinds


def _key(entry: dict[str, Any]) -> Key:
    return entry["group"], entry["version"], entry["plural"]


_KINDS: Final = _kinds()
SCHEMAS: Final[dict[Key, dict[str, Any]]] = {_key(kind): kind["schema"] for kind in _KINDS}
PRINTER_COLUMNS: Final[dict[Key, tuple[PrinterColumn, ...]]] = {
    _key(kind): tuple(kind["printer_columns"]) for kind in _KINDS
}
