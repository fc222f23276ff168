"""Which wheels fit an image: its OS, CPU and Python version, as pip's tags say them.

pip installs wheels for another machine with ``--platform``/``--python-version``/
``--implementation``/``--only-binary=:all:``; these are the tags for a Linux image's
architecture (manylinux policies from the newest a current slim Debian image meets down
to manylinux2014, pure-Python wheels always fit). The image's Python comes from the base
image's ``PYTHON_VERSION`` (the official images set it), else the build machine's.
"""

from __future__ import annotations

import platform as host_platform
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from unkai.errors import UserError

_ARCH: Final = {"amd64": "x86_64", "arm64": "aarch64", "ppc64le": "ppc64le", "s390x": "s390x"}
_HOST_ARCH: Final = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_GLIBC: Final = ("2_39", "2_36", "2_34", "2_31", "2_28", "2_27", "2_24", "2_17")


class PlatformError(UserError):
    """An image platform Unkai cannot install wheels for."""


@dataclass(frozen=True)
class Target:
    """The image's ``os``/``architecture`` (OCI names) and ``python`` (``3.12``)."""

    os: str
    architecture: str
    python: str

    def pip_options(self) -> list[str]:
        """The pip options that pick this target's wheels and only wheels."""
        if self.os != "linux" or self.architecture not in _ARCH:
            raise PlatformError(
                f"cannot install wheels for {self.os}/{self.architecture}"
                f" (supported: linux/{', linux/'.join(_ARCH)})"
            )
        machine = _ARCH[self.architecture]
        tags = [f"manylinux_{glibc}_{machine}" for glibc in _GLIBC] + [f"manylinux2014_{machine}"]
        options = [f"--platform={tag}" for tag in tags]
        return [
            *options,
            f"--python-version={self.python}",
            "--implementation=cp",
            "--only-binary=:all:",
        ]

    def is_host(self) -> bool:
        """Whether this machine's interpreter could run the image's Python packages."""
        running = f"{sys.version_info.major}.{sys.version_info.minor}"
        return (
            sys.platform == "linux"
            and self.os == "linux"
            and _HOST_ARCH.get(host_platform.machine()) == self.architecture
            and running == self.python
        )

    @property
    def key(self) -> str:
        return f"{self.os}/{self.architecture}/py{self.python}"


def host_architecture() -> str:
    return _HOST_ARCH.get(host_platform.machine(), host_platform.machine())


def of_config(config: Mapping[str, Any], python: str | None) -> Target:
    """The target a base image's config describes (``python`` overrides its Python)."""
    version = python or _python_of(config.get("config", {}).get("Env") or [])
    if version is None:
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return Target(str(config.get("os", "linux")), str(config.get("architecture", "amd64")), version)


def _python_of(env: Sequence[str]) -> str | None:
    for entry in env:
        name, _, value = entry.partition("=")
        if name == "PYTHON_VERSION" and value.count(".") >= 1:
            return ".".join(value.split(".")[:2])
    return None
