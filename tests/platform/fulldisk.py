"""A small filesystem of the test's own, to fill: what a full data disk does to the
platform, without touching the machine's disks.

A tmpfs is mounted on a fresh directory (this needs root, which the test machine
gives; elsewhere the tests skip saying so), filled by one file, emptied by removing
it, and unmounted at the end.
"""

import contextlib
import errno
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class SmallDisk:
    """A mounted tmpfs at ``root``."""

    root: Path

    @property
    def _filler(self) -> Path:
        return self.root / "filler"

    def fill(self) -> None:
        """Take every free byte (a write past the end fails with ENOSPC from now on)."""
        chunk = b"\0" * 4096
        with self._filler.open("ab", buffering=0) as filler:
            while True:
                try:
                    filler.write(chunk)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
        # the last partial block, byte by byte
        with contextlib.suppress(OSError), self._filler.open("ab", buffering=0) as filler:
            while True:
                filler.write(b"\0")

    def free(self) -> None:
        self._filler.unlink(missing_ok=True)


@contextlib.contextmanager
def small_disk(size: str = "4m") -> Iterator[SmallDisk]:
    """A tmpfs of ``size`` (mount's syntax) mounted on a new directory."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    root = Path(tempfile.mkdtemp(prefix="unkai-small-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        root.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield SmallDisk(root)
    finally:
        subprocess.run(["umount", "--lazy", str(root)], check=False)
        root.rmdir()
