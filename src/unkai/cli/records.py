"""Run records: which local ``unkai run`` serves which function directory.

``unkai run`` writes one small JSON file per function directory into the data dir;
``unkai invoke DIR`` reads it to find the URL. A record whose process is gone is
ignored, so a crashed ``unkai run`` never sends ``invoke`` to a dead port.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from unkai.api import funcyaml, locations


@dataclass(frozen=True)
class Record:
    url: str
    pid: int
    signature: str | None


def _path(directory: Path) -> Path:
    key = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    return locations.data_dir() / "runs" / f"{key}.json"


def write(directory: Path, *, url: str, pid: int, spec: funcyaml.FuncSpec) -> Path:
    path = _path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    signature = spec.signature.value if spec.signature else None
    payload = {"url": url, "pid": pid, "directory": str(directory), "signature": signature}
    path.write_text(json.dumps(payload))
    return path


def read(directory: Path) -> Record | None:
    """The live record for ``directory``, or ``None`` when nothing serves it."""
    try:
        payload = json.loads(_path(directory).read_text())
    except (FileNotFoundError, ValueError):
        return None
    pid = int(payload["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return Record(url=str(payload["url"]), pid=pid, signature=payload.get("signature"))


def remove(directory: Path) -> None:
    _path(directory).unlink(missing_ok=True)
